// The intervention panel's controls, built once into #interventions-panel: the op (mean, zero,
// clamp with its slider), the optional span, Run, the colouring toggle, the effect's coloured copy
// of the text and the box that shows a hovered character's predictions before and after.

import { checkbox, element } from "../lib/dom.js";
import { OPS } from "../lib/interventions.js";

const OP_LABELS = { mean: "mean-ablate", zero: "zero", clamp: "clamp to" };

function radio(name, value, label, checked) {
  const wrap = element("label", "check");
  const input = element("input");
  Object.assign(input, { type: "radio", name, value, checked, id: `${name}-${value}` });
  wrap.append(input, ` ${label}`);
  return { wrap, input };
}

function numberInput(id, label) {
  const input = element("input");
  Object.assign(input, { type: "number", id, min: "1", step: "1", inputMode: "numeric" });
  input.setAttribute("aria-label", label);
  return input;
}

export function buildInterventionForm(panel) {
  const head = element("div", "panel-head");
  const title = element("span", "panel-title", "Intervene");
  const target = element("span", "hint iv-target");
  head.append(title, target);

  const form = element("form", "iv-form");
  form.autocomplete = "off";
  const ops = element("fieldset", "iv-ops");
  ops.append(element("legend", "", "change the unit inside the recurrence"));
  const opInputs = OPS.map((op) => {
    const { wrap, input } = radio("iv-op", op, OP_LABELS[op], op === "mean");
    ops.append(wrap);
    return input;
  });
  const value = element("input");
  Object.assign(value, { type: "range", id: "iv-value", min: "-3", max: "3", step: "0.05", value: "0" });
  value.setAttribute("aria-label", "Clamp value");
  const valueOut = element("output", "iv-value-out", "+0.00");
  valueOut.htmlFor = "iv-value";
  ops.append(value, valueOut);

  const span = element("div", "iv-span");
  const { input: spanOn, label: spanLabel } = checkbox("iv-span-on", " only over characters");
  const from = numberInput("iv-from", "First character of the span");
  const to = numberInput("iv-to", "Last character of the span");
  const useSelection = element("button", "", "use the selected text");
  useSelection.type = "button";
  useSelection.id = "iv-use-selection";
  span.append(spanLabel, from, element("span", "", " to "), to, useSelection);

  const run = element("button", "primary", "Run");
  Object.assign(run, { type: "submit", id: "iv-run" });
  const status = element("span", "hint iv-status");
  status.id = "iv-status";
  status.setAttribute("role", "status");
  const actions = element("div", "iv-actions");
  actions.append(run, status);
  form.append(ops, span, actions);

  const modes = element("div", "iv-modes");
  modes.setAttribute("role", "radiogroup");
  modes.setAttribute("aria-label", "Colour the text by");
  const delta = radio("iv-mode", "delta", "change in surprisal (red: more surprised)", true);
  const activation = radio("iv-mode", "activation", "the unit's activation, with the intervention", false);
  modes.append(element("span", "hint", "colour by: "), delta.wrap, activation.wrap);

  const effect = element("div", "coloured iv-effect");
  effect.id = "iv-effect";
  effect.tabIndex = 0;
  effect.setAttribute("role", "region");
  effect.setAttribute("aria-label", "The text coloured by the intervention's effect; hover a character");
  const detail = element("div", "iv-detail hint", "hover a character: its predictions before and after");
  detail.id = "iv-detail";
  detail.setAttribute("aria-live", "polite");
  const summary = element("p", "hint iv-summary");
  summary.id = "iv-summary";

  panel.append(head, form, modes, effect, summary, detail);
  return { target, form, opInputs, value, valueOut, spanOn, from, to, useSelection, run, status,
    modeInputs: [delta.input, activation.input], effect, detail, summary };
}
