// Generates what the Generate form asks for (the store's sampleRequest): POST /api/sample for the
// selected model, layer and state, the record written to the store as it arrives; a request marked
// stopped aborts the stream and keeps what came.

import { appStore, currentModel } from "../store/app.js";
import { clearError } from "../store/errors.js";
import { streamSample } from "../api/client.js";
import { isAbort } from "../api/http.js";
import { appendLines, createRecord, frozenView } from "./stream-record.js";
import { ALL_UNITS_BUDGET } from "./text-stream.js";

export function startSampleStream() {
  let running = null; // {serial, controller}

  appStore.subscribe((state, changed) => {
    if (!changed.has("sampleRequest") || !state.sampleRequest) return;
    const wanted = state.sampleRequest;
    if (wanted.stopped) {
      if (running && running.serial === wanted.serial) running.controller.abort();
    } else if (!running || running.serial !== wanted.serial) {
      generate(wanted);
    }
  });

  async function generate(wanted) {
    if (running) running.controller.abort();
    const state = appStore.get();
    const summary = currentModel(state);
    if (!summary) return;
    const allUnits = wanted.length * summary.hidden_size <= ALL_UNITS_BUDGET;
    const request = { model: state.model, prime: wanted.prime, length: wanted.length,
      temperature: wanted.temperature, seed: wanted.seed, layer: state.layer, state: state.state,
      units: allUnits ? null : [state.unit], snapshot: state.snapshot };
    const record = createRecord("sample", request);
    const mine = { serial: wanted.serial, controller: new AbortController() };
    running = mine;
    appStore.set({ sampleView: frozenView(record), caret: null });
    let phase = "done";
    try {
      await streamSample(request, {
        signal: mine.controller.signal,
        onLines: (lines) => {
          if (running !== mine) return;
          appendLines(record, lines);
          appStore.set({ sampleView: frozenView(record) });
        },
      });
      clearError("sample");
    } catch (error) {
      if (running !== mine) return;
      if (isAbort(error)) {
        phase = "stopped";
      } else {
        phase = "failed";
        appStore.set({ error: { message: error.message || String(error), source: "sample" } });
      }
    }
    if (running !== mine) return;
    running = null;
    appStore.set({ sampleView: frozenView(record, { phase }) });
  }
}
