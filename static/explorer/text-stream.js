// Keeps the analysed text current: POST /api/activations/stream for the Text box, again whenever the
// text, model, layer or state changes (typing debounced), or the unit changes to one the record does
// not have (long texts cache one unit only). Writes the record to the store as it arrives.

import { appStore, currentModel } from "../store/app.js";
import { touches } from "../store/writable.js";
import { clearError } from "../store/errors.js";
import { streamActivations } from "../api/client.js";
import { isAbort } from "../api/http.js";
import { countCodePoints } from "../lib/chars.js";
import { appendLines, createRecord, frozenView, unitColumn } from "./stream-record.js";

export const ALL_UNITS_BUDGET = 2_000_000; // cache every unit when characters x units is at most this
const TYPE_DEBOUNCE_MS = 250;
const UNIT_DEBOUNCE_MS = 180; // a sweep through units refetches once it pauses
const TOPK = 5;

export function startTextStream() {
  let timer = 0;
  let controller = null;

  function later(delay) {
    clearTimeout(timer);
    timer = setTimeout(analyse, delay);
  }

  appStore.subscribe((state, changed) => {
    if (touches(changed, "model", "layer", "state", "snapshot")) {
      analyse();
    } else if (changed.has("text")) {
      if (!state.textView || state.textView.request.text !== state.text) later(TYPE_DEBOUNCE_MS);
    } else if (changed.has("unit") && state.textView && state.textView.meta
      && !unitColumn(state.textView, state.unit)) {
      later(UNIT_DEBOUNCE_MS);
    }
  });

  async function analyse() {
    clearTimeout(timer);
    if (controller) controller.abort();
    controller = null;
    const state = appStore.get();
    const summary = currentModel(state);
    if (!summary) return;
    if (!state.text) {
      appStore.set({ textView: null, caret: null });
      return;
    }
    const allUnits = countCodePoints(state.text) * summary.hidden_size <= ALL_UNITS_BUDGET;
    const request = { model: state.model, text: state.text, layer: state.layer, state: state.state,
      units: allUnits ? null : [state.unit], topk: TOPK, bits: true, snapshot: state.snapshot };
    const record = createRecord("text", request);
    const mine = new AbortController();
    controller = mine;
    appStore.set({ textView: frozenView(record), caret: null });
    try {
      await streamActivations(request, {
        signal: mine.signal,
        onLines: (lines) => {
          if (controller !== mine) return;
          appendLines(record, lines);
          appStore.set({ textView: frozenView(record) });
        },
      });
      if (!record.meta || record.chars.length < record.meta.length) {
        throw new Error(`the stream ended after ${record.chars.length} of ${record.meta ? record.meta.length : "?"} characters`);
      }
      clearError("text");
      appStore.set({ textView: frozenView(record, { phase: "done" }) });
    } catch (error) {
      if (isAbort(error) || controller !== mine) return;
      appStore.set({ textView: frozenView(record, { phase: "failed" }),
        error: { message: error.message || String(error), source: "text" } });
    } finally {
      if (controller === mine) controller = null;
    }
  }

  return { analyse };
}
