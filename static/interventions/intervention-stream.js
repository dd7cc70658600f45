// Runs what the intervention panel asks for: the store's interventionRequest becomes a POST
// /api/interventions on the Text box for the selected unit, steerRequest a POST
// /api/interventions/sample/stream whose pairs of characters are written as they arrive; each
// answer (or failure) is written back as interventionView / steerView (phase "streaming" while the
// samples grow). A newer request aborts the older one; a new model forgets both.

import { appStore } from "../store/app.js";
import { intervene, streamSteeredSample } from "../api/client.js";
import { isAbort } from "../api/http.js";
import { unitIntervention } from "../lib/interventions.js";

const TOPK = 5; // predictions per character and pass, for the panel's "before and after"

/** Reads the steering stream into one growing answer shaped as POST /api/interventions/sample's. */
function steeringStream(body, { signal, onAnswer }) {
  const answer = { steered: { chars: [], values: [], p: [] }, plain: { chars: [], values: [], p: [] },
    diverged_at: null };
  return streamSteeredSample(body, {
    signal,
    onLines: (lines) => {
      for (const line of lines) {
        if (line.i === undefined) { Object.assign(answer, line); continue; } // the metadata line
        for (const key of ["steered", "plain"]) {
          for (const field of ["char", "values", "p"]) answer[key][field === "char" ? "chars" : field].push(line[key][field]);
        }
        if (answer.diverged_at === null && line.steered.char !== line.plain.char) answer.diverged_at = line.i;
      }
      onAnswer({ ...answer });
    },
  }).then(() => ({ ...answer }));
}

function runner(viewKey, fetchAnswer) {
  let running = null; // {serial, controller}
  async function run(wanted, request) {
    if (running) running.controller.abort();
    const mine = { serial: wanted.serial, controller: new AbortController() };
    running = mine;
    appStore.set({ [viewKey]: { serial: wanted.serial, phase: "busy", request, answer: null } });
    const onAnswer = (answer) => {
      if (running === mine) appStore.set({ [viewKey]: { serial: wanted.serial, phase: "streaming", request, answer } });
    };
    try {
      const answer = await fetchAnswer(request, { signal: mine.controller.signal, onAnswer });
      if (running === mine) appStore.set({ [viewKey]: { serial: wanted.serial, phase: "done", request, answer } });
    } catch (error) {
      if (running !== mine || isAbort(error)) return;
      appStore.set({ [viewKey]: { serial: wanted.serial, phase: "failed", request, answer: null,
        message: error.message || String(error) } });
    } finally {
      if (running === mine) running = null;
    }
  }
  function forget() {
    if (running) running.controller.abort();
    running = null;
  }
  return { run, forget };
}

export function startInterventions() {
  const effect = runner("interventionView", intervene);
  const steering = runner("steerView", steeringStream);

  appStore.subscribe((state, changed) => {
    if (changed.has("model")) {
      effect.forget();
      steering.forget();
      appStore.set({ interventionView: null, steerView: null });
      return;
    }
    const selection = { model: state.model, layer: state.layer, state: state.state, units: [state.unit],
      snapshot: state.snapshot };
    if (changed.has("interventionRequest") && state.interventionRequest && state.model) {
      const wanted = state.interventionRequest;
      effect.run(wanted, { ...selection, text: state.text, topk: TOPK,
        interventions: [unitIntervention(state, wanted)] });
    }
    if (changed.has("steerRequest") && state.steerRequest && state.model) {
      const wanted = state.steerRequest;
      steering.run(wanted, { ...selection, prime: wanted.prime, length: wanted.length,
        temperature: wanted.temperature, seed: wanted.seed,
        interventions: [unitIntervention(state, { op: wanted.op, value: wanted.value, span: null })] });
    }
  });
}
