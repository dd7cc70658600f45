// The view in the query string: model, layer, state, unit, heatmap units and (short) text.

import { ui } from "./dom.js";
import { S } from "./state.js";

const URL_TEXT_LIMIT = 1500;

let urlTimer = 0;

export function writeUrl() {
  const params = new URLSearchParams();
  if (S.model) params.set("model", S.model);
  params.set("layer", String(S.layer));
  params.set("state", S.state);
  params.set("unit", String(S.unit));
  const heat = ui.heatUnits.value.trim();
  if (heat) params.set("units", heat);
  const text = ui.text.value;
  if (text.length < URL_TEXT_LIMIT) params.set("text", text);
  const url = `${location.pathname}?${params.toString()}${location.hash}`;
  if (url !== location.pathname + location.search + location.hash) history.replaceState(null, "", url);
}

export function writeUrlSoon() {
  clearTimeout(urlTimer);
  urlTimer = setTimeout(writeUrl, 200);
}

export function readUrl() {
  const params = new URLSearchParams(location.search);
  const get = (k) => (params.has(k) ? params.get(k) : undefined);
  return { model: get("model"), layer: get("layer"), state: get("state"), unit: get("unit"),
    text: get("text"), units: get("units") };
}
