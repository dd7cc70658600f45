// Every request the page makes, and the one place that knows the API's URLs. The model list, model
// details, hypotheses and saturations do not change while the server runs: each is fetched once per
// page load and shared by every part of the page (a failure is forgotten, so the next call retries).

import { getJson, postJson, streamNdjson } from "./http.js";

export const LIST_LIMIT = 10; // unit rows per hypothesis, stored and ranked on the fly

const enc = encodeURIComponent;
const modelUrl = (name) => `/api/models/${enc(name)}`;

const once = new Map(); // url -> Promise of its JSON

function cachedJson(url) {
  if (!once.has(url)) {
    const promise = getJson(url);
    promise.catch(() => once.delete(url));
    once.set(url, promise);
  }
  return once.get(url);
}

/** GET /api/models: the served models' summaries. */
export const listModels = () => cachedJson("/api/models");

/** GET /api/models/{name}: architecture, vocabulary, training, losses and card. */
export const modelDetail = (name) => cachedJson(modelUrl(name));

/** GET /api/models/{name}/timeline: every hypothesis's best and final-unit score at each snapshot. */
export const modelTimeline = (name) => cachedJson(`${modelUrl(name)}/timeline`);

/** GET /api/hypotheses: [{name, value_type, description}]. */
export const listHypotheses = () => cachedJson("/api/hypotheses");

/** GET /api/models/{name}/saturation. */
export const gateSaturation = (name) => cachedJson(`${modelUrl(name)}/saturation`);

/** POST /api/activations/stream: a metadata line, then one line per character ({char, values, top, bits}). */
export function streamActivations(body, { signal, onLines }) {
  return streamNdjson("/api/activations/stream", body, { signal, onLines });
}

/** POST /api/activations: the same as one JSON answer. */
export function activations(body, { signal } = {}) {
  return postJson("/api/activations", body, { signal });
}

/** POST /api/sample: a metadata line, then one line per generated character ({char, values, p}). */
export function streamSample(body, { signal, onLines }) {
  return streamNdjson("/api/sample", body, { signal, onLines });
}

/** GET /api/models/{name}/cells: the stored ranking, best units per hypothesis. */
export function storedCells(name, { limit = LIST_LIMIT } = {}) {
  return getJson(`${modelUrl(name)}/cells?limit=${limit}`);
}

/** GET /api/models/{name}/probes: every layer and state's linear probe per hypothesis. */
export function storedProbes(name) {
  return getJson(`${modelUrl(name)}/probes`);
}

/** POST /api/models/{name}/cells: ranks every unit now; body is {regex[, text]} or {hypothesis, text}. */
export function rankUnits(name, body, { signal } = {}) {
  return postJson(`${modelUrl(name)}/cells`, { ...body, limit: LIST_LIMIT }, { signal });
}

/** GET /api/models/{name}/units/{layer}/{state}/{unit}: one unit's scores, examples and saturation. */
export function unitReport({ model, layer, state, unit }, { signal } = {}) {
  return getJson(`${modelUrl(model)}/units/${layer}/${enc(state)}/${unit}`, { signal });
}

/** POST /api/interventions: a text with and without interventions (bits, delta_bits, kl, values, predictions). */
export function intervene(body, { signal } = {}) {
  return postJson("/api/interventions", body, { signal });
}

/** POST /api/models/{name}/importance: every unit of a state ranked by its ablation's effect on a target. */
export function unitImportance(name, body, { signal } = {}) {
  return postJson(`${modelUrl(name)}/importance`, body, { signal });
}

/** POST /api/attribution: the bits one prediction loses when each earlier character is occluded ("occlusion"),
 * or gradient x input's estimate of them ("gradient"). */
export function attributePrediction(body, { signal } = {}) {
  return postJson("/api/attribution", body, { signal });
}

/** GET /api/models/{name}/memory: how far back the model remembers (a 404 where none is stored). */
export const memoryReach = (name) => cachedJson(`${modelUrl(name)}/memory`);

/** POST /api/models/{name}/select: the units on across a span of a text, with signs and counts per threshold. */
export function selectUnits(name, body, { signal } = {}) {
  return postJson(`${modelUrl(name)}/select`, body, { signal });
}

/** POST /api/models/{name}/match: the spans of the held-out sample where the selected units are on together. */
export function matchSpans(name, body, { signal } = {}) {
  return postJson(`${modelUrl(name)}/match`, body, { signal });
}

/** POST /api/compare: the units of model_b most like one unit of model_a on the same text, and the CKA. */
export function compareModels(body, { signal } = {}) {
  return postJson("/api/compare", body, { signal });
}

/** POST /api/interventions/sample/stream: the same prime and seed sampled with and without interventions, a
 * metadata line then one line per position ({i, steered: {char, values, p}, plain: {...}}). */
export function streamSteeredSample(body, { signal, onLines }) {
  return streamNdjson("/api/interventions/sample/stream", body, { signal, onLines });
}
