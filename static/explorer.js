// Cell Explorer: colour every character of a text by one unit of a recurrent language model.
//
// Structure (this file wires the page: it binds the events, starts it, and publishes window.cellExplorer)
//   state.js     selection S: model / layer / state / unit; setSelection(), selectUnit() -- the one way to
//                change it -- and notify() for the panels that follow it (cells.js)
//   analyse.js   POST /api/activations/stream -> the text's view A
//   generate.js  POST /api/sample -> the sample's view G
//   views.js     a view {chars, values, top, bits, p, spans, ...}, rendered in batches per animation frame
//                by pump(), recoloured by recolour()
//   tooltip.js   hover / tap info box for one character
//   charts.js    Plotly line chart + heatmap (throttled while streaming)
//   controls.js  selectors, model stats and legend;  cards.js  unit card and model card
//   url.js       writeUrl() / readUrl(): the view in the query string
//   dom.js       the page's elements and error banner;  chars.js  characters and their spans
//   colors.js    LUT, lutIndex, scaleFor and paint (shared with cells.js);  ndjson.js  fetch helpers
//
// User text and server strings only ever reach the page through textContent / createTextNode.

import { getJson } from "./ndjson.js";
import { ui, clampInt, setStatus, showError } from "./dom.js";
import { S, info, defaultState, setSelection, getSelection, selectUnit, onSelectionChange, notify } from "./state.js";
import { fillSelectors, syncControls, updateLegend } from "./controls.js";
import { loadModelDetails, updateUnitCard } from "./cards.js";
import { A, analyse, scheduleAnalyse, updateTextCount } from "./analyse.js";
import { G, generate, stopGenerating } from "./generate.js";
import { recolour, unitSeries } from "./views.js";
import { drawHeatmap } from "./charts.js";
import { tip, hideTip, refreshTip, positionTip, bindCharHover } from "./tooltip.js";
import { readUrl, writeUrl, writeUrlSoon } from "./url.js";

const TYPE_DEBOUNCE_MS = 250;

/* ------------------------------------------------------------------ events */

function isTextEntry(node) {
  if (!node || !(node instanceof HTMLElement)) return false;
  if (node.isContentEditable || node.tagName === "TEXTAREA" || node.tagName === "SELECT") return true;
  if (node.tagName === "INPUT") return !["checkbox", "radio", "button", "submit", "range"].includes(node.type);
  return false;
}

function stepUnit(delta) {
  const m = info();
  if (!m) return;
  const n = m.hidden_size;
  setSelection({ unit: (((S.unit + delta) % n) + n) % n });
}

function bindEvents() {
  ui.model.addEventListener("change", () => setSelection({ model: ui.model.value }));
  ui.layer.addEventListener("change", () => setSelection({ layer: ui.layer.value }));
  ui.state.addEventListener("change", () => setSelection({ state: ui.state.value }));
  ui.unit.addEventListener("input", () => {
    if (ui.unit.value === "") return;
    setSelection({ unit: ui.unit.value });
  });
  ui.unit.addEventListener("change", () => syncControls());
  ui.unitDec.addEventListener("click", () => stepUnit(-1));
  ui.unitInc.addEventListener("click", () => stepUnit(1));
  ui.autoContrast.addEventListener("change", () => {
    updateLegend();
    recolour(A);
    recolour(G);
    refreshTip();
  });
  ui.text.addEventListener("input", () => {
    ui.coloured.dataset.ready = "0"; // pending until the debounced request has coloured the new text
    updateTextCount();
    writeUrlSoon();
    scheduleAnalyse(TYPE_DEBOUNCE_MS);
  });
  let heatTimer = 0;
  ui.heatUnits.addEventListener("input", () => {
    clearTimeout(heatTimer);
    heatTimer = setTimeout(() => { drawHeatmap(); writeUrlSoon(); }, 400);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { hideTip(); return; }
    if (event.altKey || event.ctrlKey || event.metaKey || isTextEntry(event.target)) return;
    const delta = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 }[event.key];
    if (!delta) return;
    event.preventDefault();
    stepUnit(delta);
  });
  document.addEventListener("click", (event) => {
    if (tip.pinned && !ui.tip.contains(event.target)) hideTip();
  });
  window.addEventListener("resize", () => { if (!ui.tip.hidden && tip.span) positionTip(tip.span); });
  document.addEventListener("scroll", () => { if (!ui.tip.hidden && tip.span) positionTip(tip.span); }, true);
  bindCharHover(ui.coloured);
  bindCharHover(ui.sample);
  ui.genForm.addEventListener("submit", (event) => {
    event.preventDefault();
    generate();
  });
  ui.genStop.addEventListener("click", stopGenerating);
}

/* ------------------------------------------------------------------ start */

async function init() {
  bindEvents();
  let summaries;
  try {
    summaries = await getJson("/api/models");
  } catch (error) {
    showError(`could not list the models: ${error.message}`);
    setStatus(ui.status, "no models");
    return;
  }
  for (const s of summaries) S.models.set(s.name, s);
  if (!summaries.length) {
    showError("No models are loaded: put trained model directories in the models folder and restart the server.");
    setStatus(ui.status, "no models");
    for (const c of [ui.model, ui.layer, ui.state, ui.unit, ui.unitDec, ui.unitInc, ui.genGo]) c.disabled = true;
    return;
  }
  let initial = [];
  try { initial = JSON.parse(ui.app.dataset.models || "[]"); } catch { initial = []; }
  const fromUrl = readUrl();
  let model = initial.find((n) => S.models.has(n)) || summaries[0].name;
  if (fromUrl.model !== undefined) {
    if (S.models.has(fromUrl.model)) model = fromUrl.model;
    else showError(`the link names model ${JSON.stringify(fromUrl.model)}, which is not served; showing ${model}`, "url");
  }
  ui.model.replaceChildren();
  for (const name of S.models.keys()) {
    const opt = document.createElement("option");
    opt.value = name;
    opt.textContent = name;
    ui.model.appendChild(opt);
  }
  S.model = model;
  const m = info();
  S.layer = clampInt(fromUrl.layer, 0, m.layers - 1, m.layers - 1);
  S.state = fromUrl.state !== undefined && m.states.includes(fromUrl.state) ? fromUrl.state : defaultState(m);
  S.unit = clampInt(fromUrl.unit, 0, m.hidden_size - 1, 0);
  if (fromUrl.text !== undefined) ui.text.value = fromUrl.text;
  if (fromUrl.units !== undefined) ui.heatUnits.value = fromUrl.units;
  fillSelectors();
  syncControls();
  updateTextCount();
  updateUnitCard();
  loadModelDetails(S.model);
  writeUrl();
  analyse();
  notify(); // the first selection, for panels that follow it (cells.js)
}

window.cellExplorer = {
  selectUnit,
  getSelection,
  /** Calls fn(selection) after every selection change; returns an unsubscribe function. */
  onSelectionChange,
  /** Summary of the selected model (from GET /api/models). */
  getModel: () => (info() ? { ...info() } : null),
  /** The activations currently shown, for the selected unit: {chars, values} or null. */
  getSeries: () => (A && A.finished ? { chars: A.chars.slice(), values: unitSeries(A) } : null),
  cellsPanel: ui.cellsPanel,
  reanalyse: analyse,
};

init();
