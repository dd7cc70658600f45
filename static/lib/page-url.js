// The explorer's view in the query string (model, layer, state, unit, the heatmap's units and a short
// text), so that a view can be shared, reloaded, or opened from a found-cell row in a new tab.

export const URL_TEXT_LIMIT = 1500; // longer texts stay out of the address bar

/** The view named by a query string; absent parameters are undefined. */
export function readView(search) {
  const params = new URLSearchParams(search);
  const get = (k) => (params.has(k) ? params.get(k) : undefined);
  return { model: get("model"), layer: get("layer"), state: get("state"), unit: get("unit"),
    text: get("text"), units: get("units") };
}

/** The query string of a view (without "?"). */
export function viewQuery({ model, layer, state, unit, heatUnits = "", text = "" }) {
  const params = new URLSearchParams();
  if (model) params.set("model", model);
  params.set("layer", String(layer));
  params.set("state", state);
  params.set("unit", String(unit));
  if (heatUnits.trim()) params.set("units", heatUnits.trim());
  if (text.length < URL_TEXT_LIMIT) params.set("text", text);
  return params.toString();
}

/** The page's address with one unit selected and every other parameter (text, heatmap units) kept. */
export function unitHref({ pathname, search }, { model, layer, state, unit }) {
  const params = new URLSearchParams(search);
  params.set("model", model);
  params.set("layer", String(layer));
  params.set("state", state);
  params.set("unit", String(unit));
  return `${pathname}?${params.toString()}`;
}
