// The text panel: POST /api/activations/stream for the typed text -> the analysed view A.

import { streamNdjson, isAbort } from "./ndjson.js";
import { ui, fmtInt, setStatus, showError, clearError } from "./dom.js";
import { codePoints } from "./chars.js";
import { S, info } from "./state.js";
import { ALL_UNITS_BUDGET, newView, setMeta, addRow, schedule, killView } from "./views.js";
import { updateUnitCard } from "./cards.js";
import { clearCharts } from "./charts.js";
import { hideTip } from "./tooltip.js";

const UNIT_REFETCH_DEBOUNCE_MS = 180;
const TOPK = 5;

export let A = null; // the analysed text's view
let typeTimer = 0;
let unitTimer = 0;

export function updateTextCount() {
  const n = codePoints(ui.text.value).length;
  ui.textCount.textContent = `${fmtInt.format(n)} characters`;
}

export async function analyse() {
  clearTimeout(typeTimer);
  clearTimeout(unitTimer);
  const summary = info();
  if (!summary) return;
  const text = ui.text.value;
  killView(A);
  hideTip();
  ui.coloured.dataset.ready = "0";
  if (!text) {
    A = null;
    ui.coloured.replaceChildren();
    setStatus(ui.status, "type some text to colour it");
    clearCharts();
    updateUnitCard();
    return;
  }
  const length = codePoints(text).length;
  const allUnits = length * summary.hidden_size <= ALL_UNITS_BUDGET;
  const request = {
    model: S.model, text, layer: S.layer, state: S.state,
    units: allUnits ? null : [S.unit], topk: TOPK, bits: true,
  };
  const view = newView("text", ui.coloured, request);
  A = view;
  ui.coloured.classList.add("stale");
  setStatus(ui.status, `colouring… 0 / ${fmtInt.format(length)} characters`);
  try {
    await streamNdjson("/api/activations/stream", request, {
      signal: view.controller.signal,
      onLine: (line) => {
        if (view.dead) return;
        if (!view.meta) setMeta(view, line);
        else addRow(view, line);
      },
    });
    if (view.dead) return;
    clearError("text");
    if (!view.meta || view.chars.length < view.meta.length) {
      throw new Error(`the stream ended after ${view.chars.length} of ${view.meta ? view.meta.length : "?"} characters`);
    }
    view.streamDone = true;
    schedule(view);
  } catch (error) {
    if (view.dead || isAbort(error)) return;
    view.failed = true;
    view.streamDone = true;
    if (view.raf) cancelAnimationFrame(view.raf);
    view.dead = true;
    ui.coloured.classList.remove("stale");
    ui.coloured.replaceChildren();
    clearCharts();
    showError(error.message || String(error), "text");
    setStatus(ui.status, "could not colour the text (see the message above)");
  }
}

export function scheduleAnalyse(delay) {
  clearTimeout(typeTimer);
  typeTimer = setTimeout(analyse, delay);
}

/** The selected unit is not in A's cache: refetch, at once or after a short debounce (for sweeps). */
export function refetchUnit(immediate) {
  clearTimeout(unitTimer);
  ui.coloured.dataset.ready = "0";
  if (immediate) analyse();
  else unitTimer = setTimeout(analyse, UNIT_REFETCH_DEBOUNCE_MS);
}
