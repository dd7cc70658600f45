// The page-wide error area (#error): the store's error, as text.

import { appStore } from "../store/app.js";
import { byId } from "../lib/dom.js";

export function mountErrorView() {
  const area = byId("error");
  appStore.subscribe((state, changed) => {
    if (!changed.has("error")) return;
    area.textContent = state.error ? state.error.message : "";
    area.hidden = !state.error;
  });
}
