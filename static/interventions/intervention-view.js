// The intervention panel (#interventions-panel): mean-ablate, zero or clamp the selected unit,
// everywhere or over a span of the Text box, and see the text coloured by the change in each
// character's surprisal (or by the unit's activation under the intervention); hovering a character
// shows its predictions before and after. Run sets the store's interventionRequest
// (intervention-stream.js fetches it). Test hooks on #iv-effect: data-ready ("1" once the answer is
// painted), data-mode ("delta" or "activation"), data-unit.

import { appStore, currentModel } from "../store/app.js";
import { touches } from "../store/writable.js";
import { countCodePoints, visibleChar } from "../lib/chars.js";
import { byId } from "../lib/dom.js";
import { fmtInt, fmtValue } from "../lib/format.js";
import { DELTA_FULL_BITS, clampRange, deltaColouring, effectSummary, staticRecord, typedSpan, valueColouring }
  from "../lib/interventions.js";
import { createColouredText } from "../render/coloured-text.js";
import { effectDetail } from "./effect-detail.js";
import { buildInterventionForm } from "./intervention-form.js";

/** The character index of a node inside a coloured text (a span.ch or its text), or null. */
function charIndexOf(node) {
  const el = node && (node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement);
  const span = el && el.closest(".ch");
  return span && Number.isInteger(span.idx) ? span.idx : null;
}

export function mountInterventions() {
  const panel = byId("interventions-panel");
  const ui = buildInterventionForm(panel);
  let serial = 0;
  let shown = null; // the interventionView painted
  const effect = createColouredText(ui.effect, {
    onSettled: (record, colouring) => {
      ui.effect.dataset.ready = record.serial === (shown && shown.serial) ? "1" : "0";
      ui.effect.dataset.mode = colouring.key.endsWith("delta") ? "delta" : "activation";
      if (shown) ui.effect.dataset.unit = String(shown.answer.units[0]);
    },
  });

  const op = () => ui.opInputs.find((input) => input.checked).value;
  const mode = () => ui.modeInputs.find((input) => input.checked).value;

  function showValue() {
    ui.valueOut.textContent = fmtValue(Number(ui.value.value)).replace(/(\.\d\d)\d\d$/, "$1");
    ui.value.disabled = op() !== "clamp";
  }

  function selectedSpan() {
    const selection = window.getSelection();
    if (selection && !selection.isCollapsed) {
      const a = charIndexOf(selection.anchorNode), b = charIndexOf(selection.focusNode);
      if (a !== null && b !== null) return [a, b];
    }
    const box = byId("text");
    if (box && box.selectionEnd > box.selectionStart) {
      return [countCodePoints(box.value.slice(0, box.selectionStart)),
        countCodePoints(box.value.slice(0, box.selectionEnd)) - 1];
    }
    return null;
  }

  ui.useSelection.addEventListener("click", () => {
    const picked = selectedSpan();
    if (!picked) { ui.status.textContent = "select some characters of the text (or the Text box) first"; return; }
    ui.from.value = String(Math.min(...picked) + 1);
    ui.to.value = String(Math.max(...picked) + 1);
    ui.spanOn.checked = true;
    ui.status.textContent = "";
  });
  for (const input of ui.opInputs) input.addEventListener("change", showValue);
  ui.value.addEventListener("input", showValue);
  for (const input of ui.modeInputs) input.addEventListener("change", () => paint(appStore.get()));

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const state = appStore.get();
    if (!state.text) { ui.status.textContent = "the Text box is empty: type some text first"; return; }
    let span = null;
    if (ui.spanOn.checked) {
      const typed = typedSpan(ui.from.value, ui.to.value, countCodePoints(state.text));
      if (typed.error) { ui.status.textContent = `span: ${typed.error}`; return; }
      span = typed.span;
    }
    appStore.set({ interventionRequest: { serial: ++serial, op: op(), value: Number(ui.value.value), span } });
  });

  function paint(state) {
    const view = state.interventionView;
    ui.effect.dataset.ready = "0";
    if (!view || view.phase !== "done") {
      if (!view) effect.clear();
      else ui.effect.classList.toggle("stale", view.phase === "busy");
      return;
    }
    shown = view;
    const { answer } = view;
    const record = staticRecord(view.serial, answer.chars, answer.unknown);
    const colouring = mode() === "delta" ? deltaColouring(view.serial, answer.delta_bits)
      : valueColouring(view.serial, answer.state, answer.values, state.autoContrast);
    effect.sync(record, colouring);
  }

  function report(state) {
    const view = state.interventionView;
    ui.run.disabled = Boolean(view && view.phase === "busy") || !state.model;
    if (!view) { ui.status.textContent = ""; ui.summary.textContent = ""; return; }
    if (view.phase === "busy") { ui.status.textContent = "running both passes…"; return; }
    if (view.phase === "failed") { ui.status.textContent = view.message; ui.summary.textContent = ""; return; }
    const { answer, request } = view;
    const iv = request.interventions[0];
    const where = iv.start === undefined ? "every position"
      : `characters ${fmtInt.format(iv.start + 1)}-${fmtInt.format(iv.end)}`;
    const what = iv.op === "clamp" ? `clamped to ${fmtValue(iv.value)}` : iv.op === "mean" ? "mean-ablated" : "zeroed";
    ui.status.textContent = `L${iv.layer} ${iv.state} ${iv.units[0]} ${what} at ${where}`;
    const { mean, worst } = effectSummary(answer.chars, answer.delta_bits);
    ui.summary.textContent = `mean change of surprisal ${fmtValue(mean)} bits/char`
      + (worst ? ` · largest rise ${fmtValue(worst.delta)} bits at “${visibleChar(worst.char)}” (position ${fmtInt.format(worst.index)})` : "")
      + ` · each character coloured by the change of its own surprisal, full red at +${DELTA_FULL_BITS} bits or more`;
  }

  function retarget(state) {
    const summary = currentModel(state);
    panel.hidden = !summary;
    if (!summary) return;
    ui.target.textContent = `layer ${state.layer} · ${state.state} · unit ${state.unit}`;
    const range = clampRange(state.state);
    Object.assign(ui.value, { min: String(range.min), max: String(range.max), step: String(range.step) });
    showValue();
  }

  ui.effect.addEventListener("mouseover", (event) => {
    const view = appStore.get().interventionView;
    const j = charIndexOf(event.target);
    if (!view || view.phase !== "done" || j === null) return;
    ui.detail.replaceChildren(effectDetail(view.answer, j));
    effect.highlight(j);
  });

  appStore.subscribe((state, changed) => {
    if (touches(changed, "model", "models", "layer", "state", "unit")) retarget(state);
    if (touches(changed, "interventionView", "autoContrast")) paint(state);
    if (touches(changed, "interventionView", "model")) report(state);
    const view = state.interventionView;
    if (view && view.phase === "done" && touches(changed, "text", "layer", "state", "unit", "snapshot")) {
      ui.effect.classList.add("stale");
      ui.status.textContent = "the text or the unit changed: Run again to see the effect";
    }
  });
}
