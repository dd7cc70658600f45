// Keeps the address bar's query string in step with the view (lib/page-url.js has the format), a
// moment after the last change so a sweep through units writes it once.

import { appStore } from "../store/app.js";
import { touches } from "../store/writable.js";
import { viewQuery } from "../lib/page-url.js";

const WRITE_DELAY_MS = 200;

export function writeUrlNow() {
  const query = viewQuery(appStore.get());
  const url = `${location.pathname}?${query}${location.hash}`;
  if (url !== location.pathname + location.search + location.hash) history.replaceState(null, "", url);
}

export function startUrlSync() {
  let timer = 0;
  appStore.subscribe((state, changed) => {
    if (!state.model || !touches(changed, "model", "layer", "state", "unit", "heatUnits", "text")) return;
    clearTimeout(timer);
    timer = setTimeout(writeUrlNow, WRITE_DELAY_MS);
  });
}
