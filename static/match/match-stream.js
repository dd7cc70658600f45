// Select and match: a span of the analysed text (`matchAsk`, set by span-input.js or the panel's controls)
// is sent to POST .../select (the on-units and the counts per threshold) and .../match (the spans of the
// held-out sample where they are on together) side by side; the answers go to `matchView`. A unit's
// "compare" asks POST /api/compare (`compareView`). A new text forgets them all, a new model the match.

import { appStore } from "../store/app.js";
import { activations, compareModels, matchSpans, selectUnits } from "../api/client.js";
import { matchBody, selectBody } from "../lib/match.js";

let serials = 0;

/** Asks to select and match text[start:end); the options not given keep their last values. */
export function askMatch(fields) {
  const last = appStore.get().matchAsk || { state: "all", threshold: null, fraction: 1, before: 0, after: 0,
    track: null };
  appStore.set({ matchAsk: { ...last, ...fields, serial: ++serials } });
}

/** Asks for the units of model `other` most like `unit` ({layer, state, unit}) of the current model. */
export function askCompare(unit, other) {
  appStore.set({ compareView: { serial: ++serials, phase: "loading", unit, other } });
}

/** Asks for model_a's unit and `other` ({layer, state, unit} of model_b) on the page's text, side by side. */
export function askPair(other) {
  const view = appStore.get().compareView;
  if (view && view.phase === "done") appStore.set({ compareView: { ...view, pair: { phase: "loading", other } } });
}

export function startMatchStream() {
  let controller = null;
  let compareController = null;

  appStore.subscribe((state, changed) => {
    if (changed.has("text") || changed.has("model")) {
      if (controller) controller.abort();
      if (compareController && changed.has("text")) compareController.abort();
      // a compare answer stays across a model change: its "show" buttons switch models
      const patch = changed.has("text") ? { compareView: null } : {};
      if (state.matchAsk || state.matchView || patch.compareView === null) {
        appStore.set({ matchAsk: null, matchView: null, ...patch });
      }
      return;
    }
    if (changed.has("matchAsk") && state.matchAsk) fetchBoth(state.matchAsk);
    const view = state.compareView;
    if (changed.has("compareView") && view && view.phase === "loading") fetchCompare(view, state.model);
    if (changed.has("compareView") && view && view.pair && view.pair.phase === "loading") fetchPair(view, state);
  });

  async function fetchBoth(ask) {
    if (controller) controller.abort();
    controller = new AbortController();
    const { signal } = controller;
    appStore.set({ matchView: { serial: ask.serial, phase: "loading" } });
    try {
      const [select, match] = await Promise.all([selectUnits(ask.model, selectBody(ask), { signal }),
        matchSpans(ask.model, matchBody(ask), { signal })]);
      if (signal.aborted) return;
      appStore.set({ matchView: { serial: ask.serial, phase: "done", select, match } });
    } catch (error) {
      if (signal.aborted || error.name === "AbortError") return;
      appStore.set({ matchView: { serial: ask.serial, phase: "failed", message: error.message } });
    }
  }

  async function fetchPair(view, state) {
    const record = state.textView;
    if (!record || record.phase !== "done") return;
    const text = record.chars.join("");
    const one = (model, { layer, state: kind, unit }) => activations({ model, text, layer, state: kind,
      units: [unit], bits: false });
    try {
      const [a, b] = await Promise.all([one(view.answer.model_a, view.unit),
        one(view.answer.model_b, view.pair.other)]);
      const now = appStore.get().compareView;
      if (now && now.serial === view.serial) {
        appStore.set({ compareView: { ...now, pair: { ...view.pair, phase: "done", a, b } } });
      }
    } catch (error) {
      const now = appStore.get().compareView;
      if (now && now.serial === view.serial) {
        appStore.set({ compareView: { ...now, pair: { ...view.pair, phase: "failed", message: error.message } } });
      }
    }
  }

  async function fetchCompare(view, model) {
    if (compareController) compareController.abort();
    compareController = new AbortController();
    const { signal } = compareController;
    const { layer, state, unit } = view.unit;
    try {
      const answer = await compareModels({ model_a: model, model_b: view.other, layer, state, unit, top: 5 },
        { signal });
      if (!signal.aborted) appStore.set({ compareView: { ...view, phase: "done", answer } });
    } catch (error) {
      if (signal.aborted || error.name === "AbortError") return;
      appStore.set({ compareView: { ...view, phase: "failed", message: error.message } });
    }
  }
}
