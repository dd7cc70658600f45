// The selection (model / layer / state / unit) and the served models; setSelection() is the one way to change it.

import { clampInt, errorSource, showError, clearError } from "./dom.js";
import { fillSelectors, syncControls } from "./controls.js";
import { loadModelDetails, updateUnitCard } from "./cards.js";
import { A, analyse, refetchUnit } from "./analyse.js";
import { G, updateGenCaption } from "./generate.js";
import { recolour } from "./views.js";
import { drawCharts } from "./charts.js";
import { refreshTip } from "./tooltip.js";
import { writeUrlSoon } from "./url.js";

export const S = {
  models: new Map(), // name -> summary from GET /api/models
  details: new Map(), // name -> detail from GET /api/models/{name}
  model: null,
  layer: 0,
  state: "h",
  unit: 0,
};

const listeners = new Set();

export const info = () => S.models.get(S.model);

export function defaultState(summary) {
  return summary.arch === "lstm" && summary.states.includes("c") ? "c" : "h";
}

/**
 * Changes the selection. Any of model, layer, state, unit may be given; the rest stay
 * (a model change resets layer/state to the model's defaults unless they are given).
 * Recolours from the cache when only the unit changed and it is cached, otherwise refetches.
 */
export function setSelection(change = {}, { immediate = false } = {}) {
  if (errorSource === "selection" || errorSource === "url") clearError();
  let refetch = false;
  if (change.model !== undefined && change.model !== S.model) {
    if (!S.models.has(change.model)) {
      showError(`unknown model ${JSON.stringify(change.model)}; available: ${[...S.models.keys()].join(", ")}`, "selection");
      return getSelection();
    }
    S.model = change.model;
    const m = info();
    S.layer = m.layers - 1;
    S.state = defaultState(m);
    S.unit = Math.min(S.unit, m.hidden_size - 1);
    fillSelectors();
    loadModelDetails(S.model);
    refetch = true;
  }
  const m = info();
  if (!m) return getSelection();
  if (change.layer !== undefined) {
    const layer = clampInt(change.layer, 0, m.layers - 1, S.layer);
    if (layer !== S.layer) { S.layer = layer; refetch = true; }
  }
  if (change.state !== undefined && change.state !== S.state) {
    if (m.states.includes(change.state)) { S.state = change.state; refetch = true; }
    else showError(`unknown state ${JSON.stringify(change.state)} for ${S.model}; valid states: ${m.states.join(", ")}`, "selection");
  }
  let unitChanged = false;
  if (change.unit !== undefined) {
    const unit = clampInt(change.unit, 0, m.hidden_size - 1, S.unit);
    if (unit !== S.unit) { S.unit = unit; unitChanged = true; }
  }
  syncControls();
  if (refetch) {
    analyse();
  } else if (unitChanged) {
    const aOk = A && A.model === S.model && recolour(A);
    if (aOk) {
      if (A.finished) { updateUnitCard(); drawCharts(); }
    } else if (A) {
      refetchUnit(immediate);
    } else {
      updateUnitCard();
    }
    if (G && G.model === S.model && G.layer === S.layer && G.state === S.state) {
      if (recolour(G)) updateGenCaption();
    }
    refreshTip();
  }
  writeUrlSoon();
  notify();
  return getSelection();
}

export function getSelection() {
  const m = info();
  return { model: S.model, layer: S.layer, state: S.state, unit: S.unit, hiddenSize: m ? m.hidden_size : null,
    arch: m ? m.arch : null };
}

/** For other panels (e.g. the cells panel): select a unit, optionally in another layer/state/model. */
export function selectUnit({ model, layer, state, unit } = {}) {
  if (model !== undefined && model !== S.model) setSelection({ model });
  return setSelection({ layer, state, unit }, { immediate: true });
}

/** Calls fn(selection) after every selection change; returns an unsubscribe function. */
export function onSelectionChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function notify() {
  const sel = getSelection();
  for (const fn of listeners) {
    try { fn(sel); } catch (error) { console.warn("cellExplorer listener failed", error); }
  }
  document.dispatchEvent(new CustomEvent("cellexplorer:selection", { detail: sel }));
}
