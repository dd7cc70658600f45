// The controls bar: model, layer, state and unit selectors, the unit stepper, auto contrast, and the
// model's headline figures. Every control calls the store; the bar redraws from it.

import { appStore, currentModel } from "../store/app.js";
import { touches } from "../store/writable.js";
import { select, stepUnit } from "../store/selection.js";
import { byId, element } from "../lib/dom.js";
import { fmtInt } from "../lib/format.js";
import { STATE_LABELS } from "../lib/names.js";

function option(value, label) {
  const opt = element("option", "", label);
  opt.value = value;
  return opt;
}

export function mountControls() {
  const ui = { model: byId("model"), layer: byId("layer"), state: byId("state"), unit: byId("unit"),
    dec: byId("unit-dec"), inc: byId("unit-inc"), range: byId("unit-range"), contrast: byId("auto-contrast"),
    stats: byId("model-stats") };

  ui.model.addEventListener("change", () => select({ model: ui.model.value }));
  ui.layer.addEventListener("change", () => select({ layer: ui.layer.value }));
  ui.state.addEventListener("change", () => select({ state: ui.state.value }));
  ui.unit.addEventListener("input", () => {
    if (ui.unit.value !== "") select({ unit: ui.unit.value });
  });
  ui.unit.addEventListener("change", () => { ui.unit.value = String(appStore.get().unit); });
  ui.dec.addEventListener("click", () => stepUnit(-1));
  ui.inc.addEventListener("click", () => stepUnit(1));
  ui.contrast.addEventListener("change", () => appStore.set({ autoContrast: ui.contrast.checked }));

  appStore.subscribe((state, changed) => {
    if (changed.has("models")) {
      ui.model.replaceChildren(...state.models.map((m) => option(m.name, m.name)));
      const none = !state.models.length;
      for (const control of [ui.model, ui.layer, ui.state, ui.unit, ui.dec, ui.inc]) control.disabled = none;
    }
    if (touches(changed, "models", "model")) fillModel(ui, currentModel(state));
    if (touches(changed, "models", "model", "layer")) ui.layer.value = String(state.layer);
    if (touches(changed, "models", "model", "state")) ui.state.value = state.state;
    if (changed.has("unit") && ui.unit.value !== String(state.unit)) ui.unit.value = String(state.unit);
    if (changed.has("autoContrast")) ui.contrast.checked = state.autoContrast;
  });
}

/** The layer and state options, the unit range and the headline figures of the selected model. */
function fillModel(ui, summary) {
  ui.stats.replaceChildren();
  if (!summary) return;
  ui.model.value = summary.name;
  ui.layer.replaceChildren();
  for (let l = 0; l < summary.layers; l++) {
    ui.layer.append(option(String(l), l === summary.layers - 1 && summary.layers > 1 ? `${l} (top)` : String(l)));
  }
  ui.state.replaceChildren(...summary.states.map((name) => option(name, STATE_LABELS[name] || name)));
  ui.unit.max = String(summary.hidden_size - 1);
  ui.range.textContent = `0–${summary.hidden_size - 1}`;
  ui.stats.append(element("span", "arch", `${summary.arch.toUpperCase()} · ${summary.layers}×${fmtInt.format(summary.hidden_size)}`),
    bitsPerChar(summary));
}

function bitsPerChar(summary) {
  const bpc = element("span", "bpc");
  if (typeof summary.test_bpc !== "number") {
    bpc.textContent = "test bits/char not recorded";
    return bpc;
  }
  bpc.append(element("b", "", summary.test_bpc.toFixed(3)), " bits/char test");
  if (typeof summary.ngram_test_bpc === "number") {
    const better = summary.test_bpc < summary.ngram_test_bpc;
    const versus = element("span", better ? "vs better" : "vs worse", ` vs ${summary.ngram_test_bpc.toFixed(3)} n-gram`);
    versus.title = better ? "the model beats the Kneser-Ney n-gram baseline on the test split"
      : "the n-gram baseline does better on the test split";
    bpc.append(versus);
  }
  return bpc;
}
