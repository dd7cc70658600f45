// Explaining the inspected prediction: a click on a character of the coloured text (a pinned caret) asks
// which earlier characters its prediction depends on (`attributionAsk`); both methods are fetched side by
// side and their answers written to `attribution`. A new text, model or training step forgets them.

import { appStore } from "../store/app.js";
import { attributePrediction } from "../api/client.js";
import { askForCaret } from "../lib/attribution.js";

export const WINDOW = 200; // characters attributed, as the memory-reach curves measure
const METHODS = ["occlusion", "gradient"];
const SETTLE_MS = 250; // the caret must rest this long on a character before its prediction is explained

let serials = 0;

/** Asks to explain the prediction after `position` of `text`; target null: the actual next character. */
export function askAttribution({ model, text, position, target = null, snapshot = null }) {
  appStore.set({ attributionAsk: { serial: ++serials, model, text, position, target, snapshot } });
}

export function startAttributionStream() {
  let controller = null;
  let pending = 0;

  appStore.subscribe((state, changed) => {
    if (changed.has("text") || changed.has("model") || changed.has("snapshot")) {
      if (controller) controller.abort();
      controller = null;
      clearTimeout(pending);
      if (state.attributionAsk || state.attribution) appStore.set({ attributionAsk: null, attribution: null });
      return;
    }
    if (changed.has("caret")) {
      // a pause first: ← → held on the text would otherwise queue one computation per character passed
      clearTimeout(pending);
      const wanted = askForCaret(state.caret, state.textView);
      const asked = state.attributionAsk;
      if (wanted && !(asked && asked.text === wanted.text && asked.position === wanted.position
        && asked.model === wanted.model)) pending = setTimeout(() => askAttribution(wanted), SETTLE_MS);
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
