// The cells panels' requests and their caches: models, hypotheses, stored ranking and probes, saturation, unit reports,
// and ranking every unit now.

import { getJson, postJson } from "./ndjson.js";

export const LIST_LIMIT = 10; // unit rows per hypothesis (stored and on the fly)
const UNIT_CACHE_SIZE = 64;

const enc = encodeURIComponent;

const stored = new Map(); // model -> Promise<{status: "ok"|"none"|"error", cells?, probes?, detail?}>
const saturations = new Map(); // model -> Promise<saturation response>
const unitReports = new Map(); // unitKey -> report (most recent last)
let hypotheses = null; // Promise<Map name -> {name, kind, description}>
export let hypothesesMap = new Map(); // the same, once loaded
let modelList = null;

/** The built-in hypotheses; on a failure calls onError(error), resolves to an empty map and retries next time. */
export function loadHypotheses(onError) {
  if (!hypotheses) {
    hypotheses = getJson("/api/hypotheses")
      .then((list) => (hypothesesMap = new Map(list.map((h) => [h.name, h]))))
      .catch((error) => {
        hypotheses = null;
        if (onError) onError(error);
        return new Map();
      });
  }
  return hypotheses;
}

function loadModelList() {
  if (!modelList) {
    modelList = getJson("/api/models").catch(() => {
      modelList = null;
      return [];
    });
  }
  return modelList;
}

async function fetchStored(model) {
  // /api/models says which models have an analysis, so the page never asks for a missing one
  const summary = (await loadModelList()).find((m) => m.name === model);
  if (summary && !summary.has_cells) {
    return {
      status: "none",
      detail: `model '${model}' has no stored cell analysis; build it with ` +
        `\`python -m app.cells.build models/${model}\``,
    };
  }
  // probes are extra evidence: an analysis built before them (404) or a failure just shows none
  const probes = getJson(`/api/models/${enc(model)}/probes`).catch(() => []);
  return getJson(`/api/models/${enc(model)}/cells?limit=${LIST_LIMIT}`)
      .then(async (cells) => ({ status: "ok", cells, probes: await probes }))
      .catch((error) => {
        if (error.status === 404) return { status: "none", detail: error.message };
        stored.delete(model); // a transient failure: try again next time
        return { status: "error", detail: error.message };
      });
}

export function loadStored(model) {
  if (!stored.has(model)) stored.set(model, fetchStored(model));
  return stored.get(model);
}

export function loadSaturation(model) {
  if (!saturations.has(model)) {
    const promise = getJson(`/api/models/${enc(model)}/saturation`);
    promise.catch(() => saturations.delete(model));
    saturations.set(model, promise);
  }
  return saturations.get(model);
}

export async function hasAnalysis(model) {
  return (await loadStored(model)).status === "ok";
}

/** Ranks every unit of the model now: body is {regex[, text]} or {hypothesis, text}. */
export function rankUnits(model, body, signal) {
  return postJson(`/api/models/${enc(model)}/cells`, { ...body, limit: LIST_LIMIT }, { signal });
}

export function fetchUnitReport(want, signal) {
  return getJson(`/api/models/${enc(want.model)}/units/${want.layer}/${enc(want.state)}/${want.unit}`, { signal });
}

export const cachedUnitReport = (key) => unitReports.get(key);

export function rememberUnitReport(key, data) {
  unitReports.set(key, data);
  if (unitReports.size > UNIT_CACHE_SIZE) unitReports.delete(unitReports.keys().next().value);
}
