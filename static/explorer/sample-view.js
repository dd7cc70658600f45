// The Generate panel: its form asks the store for a sample (sample-stream.js generates it), #sample
// shows it coloured as it is written, by the selected unit while the selection is the sample's layer
// and state. Test hook: data-ready on #sample.

import { appStore } from "../store/app.js";
import { touches } from "../store/writable.js";
import { byId, element } from "../lib/dom.js";
import { fmtInt } from "../lib/format.js";
import { clampInt } from "../lib/units.js";
import { createColouredText } from "../render/coloured-text.js";
import { colouringFor } from "../render/colouring.js";
import { hasEnded, unitColumn } from "./stream-record.js";
import { bindCaretInput } from "./caret-input.js";

function primeNode(record) {
  if (!record.request.prime) return null;
  const prime = element("span", "prime", record.request.prime);
  prime.title = "prime (read by the model, not generated)";
  return prime;
}

export function mountSampleView() {
  const form = byId("gen-form");
  const inputs = { prime: byId("gen-prime"), temperature: byId("gen-temp"), length: byId("gen-length"),
    seed: byId("gen-seed") };
  const go = byId("gen-go");
  const stop = byId("gen-stop");
  const box = byId("sample");
  const status = byId("gen-status");
  const caption = byId("gen-caption");
  let serial = 0;
  let shownUnit = null; // the unit the sample is painted with
  let shownSerial = null; // the record it was chosen for
  let reportedSerial = null; // the record whose "generated ..." status is shown
  const sample = createColouredText(box, {
    prefix: primeNode,
    follow: true,
    onSlice: (record, rendered) => {
      if (record.phase === "streaming") {
        status.textContent = `generating… ${fmtInt.format(rendered)} / ${fmtInt.format(record.request.length)} characters`;
      }
    },
    onSettled: (record) => {
      if (!hasEnded(record) || record.phase === "failed") return;
      if (reportedSerial !== record.serial) { // a repaint for another unit keeps the time it took
        const seconds = (performance.now() - record.startedAt) / 1000;
        status.textContent = `generated ${fmtInt.format(record.received)} characters in ${seconds.toFixed(1)} s`
          + (record.phase === "stopped" ? " (stopped)" : "");
        reportedSerial = record.serial;
      }
      box.dataset.ready = "1";
    },
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const temperature = Number.parseFloat(inputs.temperature.value);
    appStore.set({ sampleRequest: { serial: ++serial, prime: inputs.prime.value,
      length: clampInt(inputs.length.value, 1, 5000, 300),
      temperature: Number.isFinite(temperature) ? temperature : 1,
      seed: clampInt(inputs.seed.value, 0, Number.MAX_SAFE_INTEGER, 0), stopped: false } });
  });
  stop.addEventListener("click", () => {
    const { sampleRequest } = appStore.get();
    if (sampleRequest) appStore.set({ sampleRequest: { ...sampleRequest, stopped: true } });
  });

  function draw(state) {
    const record = state.sampleView;
    const streaming = Boolean(record) && record.phase === "streaming";
    go.disabled = streaming || !state.model;
    stop.disabled = !streaming;
    if (!record) return;
    if (record.phase === "failed") {
      box.classList.remove("stale");
      status.textContent = "generation failed (see the message above)";
      return;
    }
    if (!record.meta) {
      box.dataset.ready = "0";
      status.textContent = "generating…";
      sample.sync(record, null);
      return;
    }
    const same = record.model === state.model && record.layer === state.layer && record.state === state.state;
    if (shownSerial !== record.serial) {
      shownUnit = unitColumn(record, state.unit) ? state.unit : record.units[0];
      shownSerial = record.serial;
    } else if (same && unitColumn(record, state.unit)) {
      shownUnit = state.unit;
    }
    caption.textContent = `${record.model} · layer ${record.layer} · ${record.state} · coloured by unit ${shownUnit}`;
    sample.sync(record, colouringFor(record, shownUnit, state.autoContrast));
  }

  appStore.subscribe((state, changed) => {
    if (touches(changed, "sampleView", "unit", "layer", "state", "autoContrast", "model", "models")) draw(state);
    if (changed.has("caret")) sample.highlight(state.caret && state.caret.source === "sample" ? state.caret.index : -1);
  });

  bindCaretInput(box, "sample");
  return sample;
}
