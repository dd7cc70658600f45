// The page-wide error area's state. `source` names what failed ("text", "sample", "heatmap",
// "selection", "url", "page"), so that a later success of the same thing clears it and nothing else.

import { appStore } from "./app.js";

export function reportError(message, source = "page") {
  appStore.set({ error: { message, source } });
}

/** Clears the error if it came from `source` (or whatever it came from, without one). */
export function clearError(source) {
  const { error } = appStore.get();
  if (error && (!source || error.source === source)) appStore.set({ error: null });
}
