// The Generate panel: POST /api/sample -> the sample's view G, coloured by the selected unit as it is written.

import { streamNdjson, isAbort } from "./ndjson.js";
import { ui, clampInt, setStatus, showError, clearError } from "./dom.js";
import { S, info } from "./state.js";
import { ALL_UNITS_BUDGET, newView, setMeta, addRow, schedule, killView } from "./views.js";
import { hideTip } from "./tooltip.js";

export let G = null; // the generated sample's view

export function setGenerating(on) {
  ui.genGo.disabled = on;
  ui.genStop.disabled = !on;
}

export function updateGenCaption() {
  if (!G || !G.meta) return;
  ui.genCaption.textContent = `${G.model} · layer ${G.layer} · ${G.state} · coloured by unit ${G.unit}`;
}

export async function generate() {
  const m = info();
  if (!m) return;
  killView(G);
  hideTip();
  const length = clampInt(ui.genLength.value, 1, 5000, 300);
  const temperature = Number.parseFloat(ui.genTemp.value);
  const seed = clampInt(ui.genSeed.value, 0, Number.MAX_SAFE_INTEGER, 0);
  const allUnits = length * m.hidden_size <= ALL_UNITS_BUDGET;
  const request = {
    model: S.model, prime: ui.genPrime.value, length, temperature: Number.isFinite(temperature) ? temperature : 1,
    seed, layer: S.layer, state: S.state, units: allUnits ? null : [S.unit],
  };
  const view = newView("sample", ui.sample, request);
  G = view;
  ui.sample.dataset.ready = "0";
  ui.sample.classList.add("stale");
  setGenerating(true);
  setStatus(ui.genStatus, "generating…");
  try {
    await streamNdjson("/api/sample", request, {
      signal: view.controller.signal,
      onLine: (line) => {
        if (view.dead) return;
        if (!view.meta) { setMeta(view, line); updateGenCaption(); }
        else addRow(view, line);
      },
    });
    if (view.dead) return;
    clearError("sample");
  } catch (error) {
    if (view.dead) return;
    if (isAbort(error)) {
      view.aborted = true;
    } else {
      view.failed = true;
      showError(error.message || String(error), "sample");
      setStatus(ui.genStatus, "generation failed (see the message above)");
      ui.sample.classList.remove("stale");
      setGenerating(false);
      return;
    }
  }
  view.streamDone = true;
  schedule(view);
}

export function stopGenerating() {
  if (G && !G.streamDone) G.controller.abort();
}
