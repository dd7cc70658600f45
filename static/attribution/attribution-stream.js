// Explaining the inspected prediction: a click on a character of the coloured text (a pinned caret) asks
// which earlier characters its prediction depends on (`attributionAsk`); both methods are fetched side by
// side and their answers written to `attribution`. A new text, model or training step forgets them.

import { appStore } from "../store/app.js";
import { attributePrediction } from "../api/client.js";

export const WINDOW = 200; // characters attributed, as the memory-reach curves measure
const METHODS = ["occlusion", "gradient"];

let serials = 0;

/** Asks to explain the prediction after `position` of `text`; target null: the actual next character. */
export function askAttribution({ model, text, position, target = null, snapshot = null }) {
  appStore.set({ attributionAsk: { serial: ++serials, model, text, position, target, snapshot } });
}

/** The ask for a pinned caret on the analysed text, or null where there is nothing to explain. */
function askFor(state) {
  const { caret, textView: record } = state;
  if (!caret || !caret.pinned || caret.source !== "text" || !record || !record.meta || record.phase !== "done") return null;
  const position = caret.index;
  if (position < 0 || position >= record.received) return null;
  let target = null; // the actual next character
  if (position + 1 >= record.received || record.unknown.has(position + 1)) {
    // at the last character, or before one the model cannot predict: its most likely prediction instead
    const top = record.top[position];
    if (!top || !top.length) return null;
    target = top[0].char;
  }
  return { model: record.model, text: record.chars.join(""), position, target, snapshot: record.request.snapshot ?? null };
}

export function startAttributionStream() {
  let controller = null;

  appStore.subscribe((state, changed) => {
    if (changed.has("text") || changed.has("model") || changed.has("snapshot")) {
      if (controller) controller.abort();
      controller = null;
      if (state.attributionAsk || state.attribution) appStore.set({ attributionAsk: null, attribution: null });
      return;
    }
    if (changed.has("caret")) {
      const wanted = askFor(state);
      const asked = state.attributionAsk;
      if (wanted && !(asked && asked.text === wanted.text && asked.position === wanted.position
        && asked.model === wanted.model)) askAttribution(wanted);
    }
    if (changed.has("attributionAsk") && state.attributionAsk) fetchBoth(state.attributionAsk);
  });

  async function fetchBoth(ask) {
    if (controller) controller.abort();
    controller = new AbortController();
    const { signal } = controller;
    appStore.set({ attribution: { serial: ask.serial, phase: "loading" } });
    const body = { model: ask.model, text: ask.text, position: ask.position, window: WINDOW };
    if (ask.target !== null) body.target = ask.target;
    if (ask.snapshot !== null) body.snapshot = ask.snapshot;
    try {
      const [occlusion, gradient] = await Promise.all(METHODS.map((method) =>
        attributePrediction({ ...body, method }, { signal })));
      if (signal.aborted) return;
      appStore.set({ attribution: { serial: ask.serial, phase: "done", occlusion, gradient } });
    } catch (error) {
      if (signal.aborted || error.name === "AbortError") return;
      appStore.set({ attribution: { serial: ask.serial, phase: "failed", message: error.message } });
    }
  }
}
