// A model's stored cell analysis as the cells panels use it: {status: "ok", cells, probes} or
// {status: "none" | "error", detail}. The model list says which models have one, so the page never
// asks for a missing analysis; a transient failure is forgotten and retried next time.

import { listModels, storedCells, storedProbes, unitReport } from "../api/client.js";

const UNIT_CACHE_SIZE = 64;
const analyses = new Map(); // model -> Promise of its entry
const reports = new Map(); // "model/layer/state/unit" -> report, the most recent last

async function fetchAnalysis(model) {
  const summary = (await listModels().catch(() => [])).find((m) => m.name === model);
  if (summary && !summary.has_cells) {
    return { status: "none", detail: `model '${model}' has no stored cell analysis; build it with `
      + `\`python -m app.cells.build models/${model}\`` };
  }
  // probes are extra evidence: an analysis built before them (404) or a failure just shows none
  const probes = storedProbes(model).catch(() => []);
  try {
    return { status: "ok", cells: await storedCells(model), probes: await probes };
  } catch (error) {
    if (error.status === 404) return { status: "none", detail: error.message };
    analyses.delete(model);
    return { status: "error", detail: error.message };
  }
}

export function loadAnalysis(model) {
  if (!analyses.has(model)) analyses.set(model, fetchAnalysis(model));
  return analyses.get(model);
}

export async function hasAnalysis(model) {
  return (await loadAnalysis(model)).status === "ok";
}

export const unitKey = (s) => `${s.model}/${s.layer}/${s.state}/${s.unit}`;

/** The unit's report, from the cache of recent ones or the server. */
export async function loadUnitReport(selection, signal) {
  const key = unitKey(selection);
  if (reports.has(key)) return reports.get(key);
  const report = await unitReport(selection, { signal });
  reports.set(key, report);
  if (reports.size > UNIT_CACHE_SIZE) reports.delete(reports.keys().next().value);
  return report;
}

export const cachedUnitReport = (selection) => reports.get(unitKey(selection));
