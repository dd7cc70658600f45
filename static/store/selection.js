// Changing the selection (model, layer, state, unit): the rules in selectionPatch(), which the
// actions below apply to the store. Cell rows, the heatmap, the saturation scatter and the controls
// all select through here.

import { appStore, currentModel } from "./app.js";
import { clampInt, wrapUnit } from "../lib/units.js";
import { defaultState } from "../lib/names.js";

/**
 * The patch that applies `change` ({model, layer, state, unit}, any of them) to `state`, and an error
 * message for what could not be applied. A new model starts on its top layer and default state (unless
 * the change names them) and keeps the unit where it exists; numbers are clamped to the model's range.
 */
export function selectionPatch(state, change) {
  const patch = {};
  let error = null;
  let summary = currentModel(state);
  if (change.model !== undefined && change.model !== state.model) {
    const next = state.models.find((m) => m.name === change.model);
    if (!next) {
      const names = state.models.map((m) => m.name).join(", ");
      return { patch, error: `unknown model ${JSON.stringify(change.model)}; available: ${names}` };
    }
    summary = next;
    Object.assign(patch, { model: next.name, snapshot: null, layer: next.layers - 1, state: defaultState(next),
      unit: Math.min(state.unit, next.hidden_size - 1) });
  }
  if (!summary) return { patch, error };
  const base = { ...state, ...patch };
  if (change.layer !== undefined) {
    const layer = clampInt(change.layer, 0, summary.layers - 1, base.layer);
    if (layer !== base.layer) patch.layer = layer;
  }
  if (change.state !== undefined && change.state !== base.state) {
    if (summary.states.includes(change.state)) patch.state = change.state;
    else error = `unknown state ${JSON.stringify(change.state)} for ${summary.name}; valid states: ${summary.states.join(", ")}`;
  }
  if (change.unit !== undefined) {
    const unit = clampInt(change.unit, 0, summary.hidden_size - 1, base.unit);
    if (unit !== base.unit) patch.unit = unit;
  }
  return { patch, error };
}

/** Selects a unit, optionally in another layer, state or model; a bad name is shown as an error. */
export function select(change) {
  const state = appStore.get();
  const { patch, error } = selectionPatch(state, change);
  const stale = state.error && (state.error.source === "selection" || state.error.source === "url");
  if (error) patch.error = { message: error, source: "selection" };
  else if (stale) patch.error = null;
  appStore.set(patch);
}

/** The next (+1) or previous (-1) unit, wrapping around at the ends. */
export function stepUnit(delta) {
  const state = appStore.get();
  const summary = currentModel(state);
  if (summary) select({ unit: wrapUnit(state.unit + delta, summary.hidden_size) });
}
