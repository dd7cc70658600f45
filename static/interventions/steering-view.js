// Steering in the intervention panel: the same prime and seed generated with the panel's
// intervention (its op and clamp value, at every generated step) and without, side by side, each
// coloured by the selected unit as it is written. Generate sets the store's steerRequest
// (intervention-stream.js streams it). The op and value are read from the panel's own controls (#interventions-panel).
// Test hooks: data-ready on #iv-steered and #iv-plain.

import { appStore } from "../store/app.js";
import { touches } from "../store/writable.js";
import { byId, element } from "../lib/dom.js";
import { fmtInt } from "../lib/format.js";
import { staticRecord, valueColouring } from "../lib/interventions.js";
import { clampInt } from "../lib/units.js";
import { createColouredText } from "../render/coloured-text.js";

const MAX_LENGTH = 2000; // the API's MAX_STEERED

function field(id, label, attributes) {
  const wrap = element("div", "field small");
  const lab = element("label", "", label);
  lab.htmlFor = id;
  const input = element("input");
  Object.assign(input, { id, ...attributes });
  wrap.append(lab, input);
  return { wrap, input };
}

function column(id, title) {
  const box = element("div", "iv-sample-col");
  const text = element("div", "coloured sample iv-sample");
  text.id = id;
  text.tabIndex = 0;
  text.setAttribute("role", "region");
  text.setAttribute("aria-label", title);
  box.append(element("div", "tip-sec", title), text);
  return { box, text };
}

function primeNode(prime) {
  return () => (prime ? element("span", "prime", prime) : null);
}

export function mountSteering() {
  const panel = byId("interventions-panel");
  const section = element("section", "iv-steer");
  section.setAttribute("aria-label", "Steering: generate with and without the intervention");
  const form = element("form", "gen-form iv-steer-form");
  form.autocomplete = "off";
  const prime = field("iv-prime", "Prime", { type: "text", value: "\"My dear", spellcheck: false });
  prime.wrap.className = "field grow";
  const length = field("iv-length", "Length", { type: "number", min: "1", max: String(MAX_LENGTH), value: "200" });
  const temperature = field("iv-temp", "Temperature", { type: "number", min: "0.05", max: "10", step: "0.05",
    value: "0.8" });
  const seed = field("iv-seed", "Seed", { type: "number", min: "0", step: "1", value: "0" });
  const go = element("button", "", "Generate with and without");
  Object.assign(go, { type: "submit", id: "iv-steer-go" });
  form.append(prime.wrap, temperature.wrap, length.wrap, seed.wrap, go);
  const steeredCol = column("iv-steered", "with the intervention");
  const plainCol = column("iv-plain", "without (same seed)");
  const pair = element("div", "iv-samples");
  pair.append(steeredCol.box, plainCol.box);
  const status = element("p", "hint iv-steer-status");
  status.setAttribute("role", "status");
  section.append(element("div", "panel-title", "Steer generation"), form, pair, status);
  panel.append(section);

  let serial = 0;
  const renderers = {};
  for (const [key, col] of [["steered", steeredCol], ["plain", plainCol]]) {
    col.text.dataset.ready = "0";
    let prefix = () => null;
    renderers[key] = {
      setPrime: (p) => { prefix = primeNode(p); },
      text: createColouredText(col.text, { prefix: (record) => prefix(record), follow: true,
        onSettled: (record) => { col.text.dataset.ready = record.phase === "done" ? "1" : "0"; } }),
    };
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = panel.querySelector('input[name="iv-op"]:checked');
    const value = Number(byId("iv-value").value);
    const t = Number.parseFloat(temperature.input.value);
    appStore.set({ steerRequest: { serial: ++serial, prime: prime.input.value, op: chosen ? chosen.value : "mean",
      value, length: clampInt(length.input.value, 1, MAX_LENGTH, 200), temperature: Number.isFinite(t) ? t : 1,
      seed: clampInt(seed.input.value, 0, Number.MAX_SAFE_INTEGER, 0) } });
  });

  function draw(state) {
    const view = state.steerView;
    go.disabled = Boolean(view && (view.phase === "busy" || view.phase === "streaming")) || !state.model;
    for (const col of [steeredCol, plainCol]) col.text.dataset.ready = "0";
    if (!view) {
      for (const r of Object.values(renderers)) r.text.clear();
      status.textContent = "";
      return;
    }
    if (view.phase === "busy") {
      status.textContent = "generating both samples…";
      for (const col of [steeredCol, plainCol]) col.text.classList.add("stale");
      return;
    }
    if (view.phase === "failed") { status.textContent = view.message; return; }
    const { answer } = view;
    if (answer.prime === undefined) return; // streaming, before the metadata line
    const phase = view.phase === "done" ? "done" : "streaming";
    for (const key of ["steered", "plain"]) {
      const sampled = answer[key];
      renderers[key].setPrime(answer.prime);
      renderers[key].text.sync(staticRecord(view.serial, sampled.chars, [], phase),
        // the phase in the key: one repaint at the end, with the whole sample's range under auto contrast
        valueColouring(view.serial, answer.state, sampled.values, state.autoContrast, `${key}|${phase}`));
    }
    const at = answer.diverged_at;
    if (phase === "streaming") {
      status.textContent = `generating… ${fmtInt.format(answer.steered.chars.length)} / `
        + `${fmtInt.format(view.request.length)} characters each` + (at === null ? "" : ` · parted at ${fmtInt.format(at)}`);
      return;
    }
    const iv = view.request.interventions[0];
    status.textContent = `coloured by L${answer.layer} ${answer.state} ${answer.units[0]}; ${iv.op} on that unit at `
      + "every generated character · " + (at === null ? "the two samples are the same text"
        : `they part at generated character ${fmtInt.format(at)}`);
  }

  appStore.subscribe((state, changed) => {
    if (touches(changed, "steerView", "autoContrast")) draw(state);
  });
}
