// The page's one store. Every part of the page reads its state from here and changes it only through
// set() (directly or through the actions in store/*.js); nothing else is shared between modules.

import { writable } from "./writable.js";

export const appStore = writable({
  models: [], // summaries from GET /api/models, in the server's order
  model: null, // the selection: model name, layer index, short state name, unit index
  layer: 0,
  state: "h",
  unit: 0,
  snapshot: null, // the training step whose weights compute everything shown (null: the final model)
  autoContrast: false, // colour by the unit's own range in the text instead of the fixed scale
  text: "", // the Text box
  heatUnits: "", // the heatmap's unit list as typed ("" = the first 32)
  textView: null, // the analysed text: a stream record (explorer/stream-record.js)
  sampleView: null, // the generated sample: a stream record
  sampleRequest: null, // {serial, prime, length, temperature, seed, stopped}: the sample wanted
  caret: null, // {source: "text"|"sample", index, pinned, via: "pointer"|"keyboard"|"chart"}
  error: null, // {message, source}: shown in the page's error area until its source succeeds
  attributionAsk: null, // {serial, model, text, position, target}: the prediction to explain (attribution/)
  attribution: null, // {serial, phase: "loading"|"done"|"failed", occlusion, gradient, message}: its answers
  interventionRequest: null, // {serial, op, value, span}: the intervention on the selected unit wanted (interventions/)
  interventionView: null, // {serial, phase: "busy"|"done"|"failed", request, answer}: its POST /api/interventions
  steerRequest: null, // {serial, prime, length, temperature, seed}: a sample with and without it wanted
  steerView: null, // {serial, phase, request, answer}: its POST /api/interventions/sample
  matchAsk: null, // {serial, model, text, start, end, state, threshold, before, after, track}: a span to select and match (match/)
  matchView: null, // {serial, phase: "loading"|"done"|"failed", select, match, message}: its answers
  compareView: null, // {serial, phase, unit, other, answer, message}: the units of another model like a selected one
});

/** The selected model's summary, or undefined before the models are known. */
export const currentModel = (state) => state.models.find((m) => m.name === state.model);
