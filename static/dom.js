// The explorer page's elements, its error banner, and the number helpers for reading from and writing to it.

const $ = (id) => document.getElementById(id);
export const ui = {
  app: $("app"), model: $("model"), layer: $("layer"), state: $("state"), unit: $("unit"),
  unitDec: $("unit-dec"), unitInc: $("unit-inc"), unitRange: $("unit-range"), autoContrast: $("auto-contrast"),
  modelStats: $("model-stats"), error: $("error"), text: $("text"), textCount: $("text-count"),
  coloured: $("coloured"), status: $("status"), outputTitle: $("output-title"),
  legendBar: $("legend-bar"), legendMin: $("legend-min"), legendMax: $("legend-max"), legendNote: $("legend-note"),
  unitName: $("unit-name"), unitStats: $("unit-stats"), cellsPanel: $("cells-panel"),
  modelDetails: $("model-details"), modelFacts: $("model-facts"), modelCard: $("model-card"),
  lineChart: $("line-chart"), lineTitle: $("line-title"), heatChart: $("heat-chart"),
  heatUnits: $("heat-units"), heatHint: $("heat-hint"),
  genForm: $("gen-form"), genPrime: $("gen-prime"), genTemp: $("gen-temp"), genLength: $("gen-length"),
  genSeed: $("gen-seed"), genGo: $("gen-go"), genStop: $("gen-stop"), sample: $("sample"),
  genStatus: $("gen-status"), genCaption: $("gen-caption"), tip: $("tip"),
};

export const fmtInt = new Intl.NumberFormat("en-US");

export function clampInt(value, lo, hi, fallback) {
  const n = Number.parseInt(value, 10);
  if (!Number.isFinite(n)) return fallback;
  return Math.min(hi, Math.max(lo, n));
}

/** Appends a <dt>/<dd> pair per [term, value] row to a <dl>, as text. */
export function appendTerms(dl, rows) {
  for (const [term, value] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dl.append(dt, dd);
  }
}

export function setStatus(node, text) {
  node.textContent = text;
}

export let errorSource = null;

/** Shows a message in the error area; `source` ("text", "sample", "heatmap", ...) lets a later success clear it. */
export function showError(message, source = "page") {
  errorSource = source;
  ui.error.textContent = message;
  ui.error.hidden = false;
}

export function clearError(source) {
  if (source && source !== errorSource) return;
  errorSource = null;
  ui.error.hidden = true;
  ui.error.textContent = "";
}
