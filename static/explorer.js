// Cell Explorer: colour every character of a text by one unit of a recurrent language model.
//
// Structure
//   selection state  S                     model / layer / state / unit (+ heatmap units)
//   setSelection(), selectUnit()           the one way to change the selection (also window.cellExplorer)
//   analyse()                              POST /api/activations/stream -> a "view" of the text
//   generate()                             POST /api/sample -> a "view" of the sample
//   a view                                 {chars, values, top, bits, p, spans, ...} rendered in batches
//                                          per animation frame by pump(), recoloured by recolour()
//   showTip()                              hover / tap info box for one character
//   drawCharts()                           Plotly line chart + heatmap (throttled while streaming)
//   writeUrl() / readUrl()                 the view in the query string
//
// User text and server strings only ever reach the page through textContent / createTextNode.

import { streamNdjson, getJson, postJson, isAbort } from "./ndjson.js";
import { LUT, NEG_RGB, POS_RGB, lutIndex, paint, scaleFor } from "./colors.js";

const ALL_UNITS_BUDGET = 2_000_000; // cache every unit when characters x hidden_size is at most this
const URL_TEXT_LIMIT = 1500;
const TYPE_DEBOUNCE_MS = 250;
const UNIT_REFETCH_DEBOUNCE_MS = 180;
const CHART_INTERVAL_MS = 500;
const FRAME_BUDGET_MS = 12;
const HEAT_DEFAULT_UNITS = 32;
const HEAT_MAX_UNITS = 128;
const HEAT_MAX_CHARS = 20_000;
const TOPK = 5;

const STATE_LABELS = {
  h: "h · hidden state",
  c: "c · cell state",
  "gates.i": "gates.i · input gate",
  "gates.f": "gates.f · forget gate",
  "gates.g": "gates.g · candidate",
  "gates.o": "gates.o · output gate",
  "gates.r": "gates.r · reset gate",
  "gates.z": "gates.z · update gate",
  "gates.n": "gates.n · candidate",
};

const $ = (id) => document.getElementById(id);
const ui = {
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

/* ------------------------------------------------------------------ selection state */

const S = {
  models: new Map(), // name -> summary from GET /api/models
  details: new Map(), // name -> detail from GET /api/models/{name}
  model: null,
  layer: 0,
  state: "h",
  unit: 0,
};

let A = null; // the analysed text's view
let G = null; // the generated sample's view
let typeTimer = 0;
let unitTimer = 0;
let urlTimer = 0;
const listeners = new Set();

const fmtInt = new Intl.NumberFormat("en-US");
const info = () => S.models.get(S.model);

function defaultState(summary) {
  return summary.arch === "lstm" && summary.states.includes("c") ? "c" : "h";
}

function clampInt(value, lo, hi, fallback) {
  const n = Number.parseInt(value, 10);
  if (!Number.isFinite(n)) return fallback;
  return Math.min(hi, Math.max(lo, n));
}

/** Characters as the server counts them (code points, not UTF-16 units). */
function codePoints(text) {
  return Array.from(text);
}

/* ------------------------------------------------------------------ colours */

// LUT, lutIndex, scaleFor and paint live in colors.js (shared with cells.js).

function updateLegend() {
  const sc = scaleFor(S.state);
  const white = "rgb(255, 255, 255)";
  const neg = `rgb(${NEG_RGB.join(", ")})`;
  const pos = `rgb(${POS_RGB.join(", ")})`;
  const contrast = ui.autoContrast.checked;
  if (sc.kind === "unit") {
    ui.legendBar.style.background = `linear-gradient(to right, ${white}, ${pos})`;
    ui.legendMin.textContent = contrast ? "min" : "0";
    ui.legendMax.textContent = contrast ? "max" : "1";
  } else {
    ui.legendBar.style.background = `linear-gradient(to right, ${neg}, ${white}, ${pos})`;
    ui.legendMin.textContent = contrast ? "−max" : "−1";
    ui.legendMax.textContent = contrast ? "+max" : "+1";
  }
  ui.legendBar.title = sc.label;
  const stretch = sc.kind === "unit" ? "stretched from the unit's smallest to its largest value in this text"
    : "scaled by the unit's largest |value| in this text";
  ui.legendNote.textContent = sc.note + (contrast ? ` Auto contrast: ${stretch}.` : "");
}

/* ------------------------------------------------------------------ character display */

function visibleChar(ch) {
  if (ch === " ") return "␣"; // U+2423, in more fonts than U+2420 "␠"
  if (ch === "\n") return "\\n";
  if (ch === "\t") return "\\t";
  if (ch === "\r") return "\\r";
  const code = ch.codePointAt(0);
  if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return "\\u" + code.toString(16).padStart(4, "0");
  return ch;
}

const CHAR_NAMES = { " ": "space", "\n": "newline", "\t": "tab", "\r": "carriage return", "\u00a0": "no-break space" };

function makeCharNodes(view, ch, i, frag) {
  const span = document.createElement("span");
  const unknown = view.unknown.size > 0 && view.unknown.has(i);
  span.idx = i;
  if (ch === "\n") {
    span.className = unknown ? "ch nl unk" : "ch nl";
    span.textContent = "↵";
    frag.appendChild(span);
    frag.appendChild(document.createTextNode("\n"));
  } else {
    span.className = unknown ? "ch unk" : "ch";
    span.textContent = ch;
    frag.appendChild(span);
  }
  return span;
}

/* ------------------------------------------------------------------ views */

function newView(kind, container, request) {
  return {
    kind, // "text" | "sample"
    container,
    request,
    model: request.model,
    layer: request.layer,
    state: request.state,
    text: request.text ?? null,
    controller: new AbortController(),
    t0: performance.now(),
    meta: null,
    unitIndex: new Map(),
    unitPos: -1,
    chars: [],
    values: [],
    top: [],
    bits: [],
    p: [],
    unknown: new Set(),
    spans: [],
    rendered: 0,
    cleared: false,
    streamDone: false,
    finished: false,
    failed: false,
    raf: 0,
    runningMax: 0,
    lo: Infinity,
    hi: -Infinity,
    nextChart: 0,
  };
}

function setMeta(view, meta) {
  view.meta = meta;
  view.unitIndex = new Map(meta.units.map((u, k) => [u, k]));
  view.unknown = new Set(meta.unknown || []);
  view.layer = meta.layer;
  view.state = meta.state;
  view.sc = scaleFor(meta.state);
  view.unitPos = view.unitIndex.has(S.unit) ? view.unitIndex.get(S.unit) : 0;
  view.unit = meta.units[view.unitPos];
}

function addRow(view, row) {
  view.chars.push(row.char);
  view.values.push(row.values);
  if (row.top !== undefined) view.top.push(row.top);
  if (row.bits !== undefined) view.bits.push(row.bits);
  if (row.p !== undefined) view.p.push(row.p);
  track(view, view.sc.f(row.values[view.unitPos]));
  schedule(view);
}

/** Keeps the range of the selected unit's (transformed) values, for auto contrast. */
function track(view, x) {
  const mag = Math.abs(x);
  if (mag > view.runningMax) view.runningMax = mag;
  if (x < view.lo) view.lo = x;
  if (x > view.hi) view.hi = x;
}

function schedule(view) {
  if (!view.raf) view.raf = requestAnimationFrame(() => pump(view));
}

/**
 * Maps a transformed value to [-1, 1] (or [0, 1] for sigmoid gates) for the colour table.
 * Fixed scale by default; with auto contrast, signed states are divided by the largest
 * |value| and sigmoid gates are stretched from their min..max in this text to 0..1.
 */
function normaliser(view) {
  if (!ui.autoContrast.checked) return (x) => x;
  if (view.sc.kind === "unit") {
    const lo = Number.isFinite(view.lo) ? view.lo : 0;
    const span = view.hi - lo > 1e-9 ? view.hi - lo : 1;
    return (x) => (x - lo) / span;
  }
  const m = view.runningMax > 1e-9 ? view.runningMax : 1;
  return (x) => x / m;
}

function colourOf(view, i, sc, norm) {
  return LUT[lutIndex(norm(sc.f(view.values[i][view.unitPos])))];
}

/** Renders the rows received so far, as many as fit in one frame's budget. */
function pump(view) {
  view.raf = 0;
  if (view.dead) return;
  const start = performance.now();
  const frag = document.createDocumentFragment();
  const sc = scaleFor(view.state);
  const norm = normaliser(view);
  const n = view.chars.length;
  let i = view.rendered;
  while (i < n) {
    const span = makeCharNodes(view, view.chars[i], i, frag);
    paint(span, colourOf(view, i, sc, norm));
    view.spans.push(span);
    i++;
    if ((i & 127) === 0 && performance.now() - start > FRAME_BUDGET_MS) break;
  }
  if (!view.cleared) {
    view.container.replaceChildren();
    view.container.classList.remove("stale");
    if (view.kind === "sample" && view.request.prime) {
      const prime = document.createElement("span");
      prime.className = "prime";
      prime.title = "prime (read by the model, not generated)";
      prime.textContent = view.request.prime;
      view.container.appendChild(prime);
    }
    view.cleared = true;
  }
  view.container.appendChild(frag);
  view.rendered = i;
  if (view.kind === "sample") view.container.scrollTop = view.container.scrollHeight;
  if (i < n) {
    schedule(view);
  } else if (view.streamDone) {
    finish(view);
    return;
  }
  progress(view);
}

function progress(view) {
  if (view.kind === "text") {
    const total = view.meta ? view.meta.length : 0;
    setStatus(ui.status, `colouring… ${fmtInt.format(view.rendered)} / ${fmtInt.format(total)} characters`);
    // redraw the line chart at most every CHART_INTERVAL_MS, and less often when drawing is slow
    const now = performance.now();
    if (now >= view.nextChart) {
      drawLineChart();
      const took = performance.now() - now;
      view.nextChart = performance.now() + Math.max(CHART_INTERVAL_MS, 6 * took);
    }
  } else {
    setStatus(ui.genStatus, `generating… ${fmtInt.format(view.rendered)} / ${fmtInt.format(view.request.length)} characters`);
  }
}

function finish(view) {
  if (view.finished) return;
  view.finished = true;
  const seconds = (performance.now() - view.t0) / 1000;
  if (ui.autoContrast.checked) recolour(view);
  view.container.dataset.unit = String(view.unit);
  if (view.kind === "text") {
    const cached = view.meta.units.length > 1 ? `all ${fmtInt.format(view.meta.units.length)} units cached`
      : "one unit (text × units too large to cache all)";
    const finite = view.bits.filter((b) => b !== null && Number.isFinite(b));
    const mean = finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : null;
    let msg = `coloured ${fmtInt.format(view.rendered)} characters in ${seconds.toFixed(1)} s · ${cached}`;
    if (mean !== null) msg += ` · ${mean.toFixed(2)} bits/char on this text`;
    if (view.unknown.size) msg += ` · ${fmtInt.format(view.unknown.size)} not in vocabulary`;
    setStatus(ui.status, msg);
    updateUnitCard();
    drawCharts();
    ui.coloured.dataset.ready = "1";
  } else {
    setStatus(ui.genStatus, `generated ${fmtInt.format(view.rendered)} characters in ${seconds.toFixed(1)} s`
      + (view.aborted ? " (stopped)" : ""));
    setGenerating(false);
    ui.sample.dataset.ready = "1";
  }
}

/** Re-colours a view's spans for the selected unit; false when that unit is not cached. */
function recolour(view) {
  if (!view || !view.meta) return false;
  if (!view.unitIndex.has(S.unit)) return false;
  view.unitPos = view.unitIndex.get(S.unit);
  view.unit = S.unit;
  const sc = view.sc;
  view.runningMax = 0;
  view.lo = Infinity;
  view.hi = -Infinity;
  for (let i = 0; i < view.values.length; i++) track(view, sc.f(view.values[i][view.unitPos]));
  const norm = normaliser(view);
  const spans = view.spans;
  for (let i = 0; i < spans.length; i++) paint(spans[i], colourOf(view, i, sc, norm));
  view.container.dataset.unit = String(view.unit);
  return true;
}

function killView(view) {
  if (!view) return;
  view.dead = true;
  view.controller.abort();
  if (view.raf) cancelAnimationFrame(view.raf);
}

/* ------------------------------------------------------------------ analysis */

function setStatus(node, text) {
  node.textContent = text;
}

let errorSource = null;

/** Shows a message in the error area; `source` ("text", "sample", "heatmap", ...) lets a later success clear it. */
function showError(message, source = "page") {
  errorSource = source;
  ui.error.textContent = message;
  ui.error.hidden = false;
}

function clearError(source) {
  if (source && source !== errorSource) return;
  errorSource = null;
  ui.error.hidden = true;
  ui.error.textContent = "";
}

function updateTextCount() {
  const n = codePoints(ui.text.value).length;
  ui.textCount.textContent = `${fmtInt.format(n)} characters`;
}

async function analyse() {
  clearTimeout(typeTimer);
  clearTimeout(unitTimer);
  const summary = info();
  if (!summary) return;
  const text = ui.text.value;
  killView(A);
  hideTip();
  ui.coloured.dataset.ready = "0";
  if (!text) {
    A = null;
    ui.coloured.replaceChildren();
    setStatus(ui.status, "type some text to colour it");
    clearCharts();
    updateUnitCard();
    return;
  }
  const length = codePoints(text).length;
  const allUnits = length * summary.hidden_size <= ALL_UNITS_BUDGET;
  const request = {
    model: S.model, text, layer: S.layer, state: S.state,
    units: allUnits ? null : [S.unit], topk: TOPK, bits: true,
  };
  const view = newView("text", ui.coloured, request);
  A = view;
  ui.coloured.classList.add("stale");
  setStatus(ui.status, `colouring… 0 / ${fmtInt.format(length)} characters`);
  try {
    await streamNdjson("/api/activations/stream", request, {
      signal: view.controller.signal,
      onLine: (line) => {
        if (view.dead) return;
        if (!view.meta) setMeta(view, line);
        else addRow(view, line);
      },
    });
    if (view.dead) return;
    clearError("text");
    if (!view.meta || view.chars.length < view.meta.length) {
      throw new Error(`the stream ended after ${view.chars.length} of ${view.meta ? view.meta.length : "?"} characters`);
    }
    view.streamDone = true;
    schedule(view);
  } catch (error) {
    if (view.dead || isAbort(error)) return;
    view.failed = true;
    view.streamDone = true;
    if (view.raf) cancelAnimationFrame(view.raf);
    view.dead = true;
    ui.coloured.classList.remove("stale");
    ui.coloured.replaceChildren();
    clearCharts();
    showError(error.message || String(error), "text");
    setStatus(ui.status, "could not colour the text (see the message above)");
  }
}

function scheduleAnalyse(delay) {
  clearTimeout(typeTimer);
  typeTimer = setTimeout(analyse, delay);
}

/* ------------------------------------------------------------------ selection */

function fillSelectors() {
  const summary = info();
  ui.model.value = S.model;
  ui.layer.replaceChildren();
  for (let l = 0; l < summary.layers; l++) {
    const opt = document.createElement("option");
    opt.value = String(l);
    opt.textContent = l === summary.layers - 1 && summary.layers > 1 ? `${l} (top)` : String(l);
    ui.layer.appendChild(opt);
  }
  ui.state.replaceChildren();
  for (const name of summary.states) {
    const opt = document.createElement("option");
    opt.value = name;
    opt.textContent = STATE_LABELS[name] || name;
    ui.state.appendChild(opt);
  }
  ui.unit.max = String(summary.hidden_size - 1);
  ui.unitRange.textContent = `0–${summary.hidden_size - 1}`;
  renderModelStats();
}

function syncControls() {
  ui.layer.value = String(S.layer);
  ui.state.value = S.state;
  if (ui.unit.value !== String(S.unit)) ui.unit.value = String(S.unit);
  const title = `layer ${S.layer} · ${S.state} · unit ${S.unit}`;
  ui.outputTitle.textContent = `Activations — ${title}`;
  ui.lineTitle.textContent = `Unit ${S.unit} along the text`;
  updateLegend();
}

function renderModelStats() {
  const m = info();
  ui.modelStats.replaceChildren();
  if (!m) return;
  const arch = document.createElement("span");
  arch.className = "arch";
  arch.textContent = `${m.arch.toUpperCase()} · ${m.layers}×${fmtInt.format(m.hidden_size)}`;
  ui.modelStats.appendChild(arch);
  const bpc = document.createElement("span");
  bpc.className = "bpc";
  if (typeof m.test_bpc === "number") {
    const b = document.createElement("b");
    b.textContent = m.test_bpc.toFixed(3);
    bpc.append(b, " bits/char test");
    if (typeof m.ngram_test_bpc === "number") {
      const ng = document.createElement("span");
      const better = m.test_bpc < m.ngram_test_bpc;
      ng.className = better ? "vs better" : "vs worse";
      ng.textContent = ` vs ${m.ngram_test_bpc.toFixed(3)} n-gram`;
      ng.title = better ? "the model beats the Kneser-Ney n-gram baseline on the test split"
        : "the n-gram baseline does better on the test split";
      bpc.appendChild(ng);
    }
  } else {
    bpc.textContent = "test bits/char not recorded";
  }
  ui.modelStats.appendChild(bpc);
}

async function loadModelDetails(name) {
  ui.modelFacts.replaceChildren();
  ui.modelCard.textContent = "";
  let detail = S.details.get(name);
  if (!detail) {
    try {
      detail = await getJson(`/api/models/${encodeURIComponent(name)}`);
      S.details.set(name, detail);
    } catch (error) {
      if (S.model === name) ui.modelCard.textContent = `could not load the model card: ${error.message}`;
      return;
    }
  }
  if (S.model !== name) return;
  const facts = [
    ["architecture", `${detail.arch}, ${detail.layers} layer${detail.layers > 1 ? "s" : ""} × ${detail.hidden_size} units`],
    ["parameters", fmtInt.format(detail.parameters)],
    ["input", detail.input],
    ["vocabulary", `${detail.vocab_size} classes (${detail.vocab.length} characters + unknown)`],
    ["corpus", detail.corpus],
    ["test bits/char", typeof detail.test_bpc === "number" ? detail.test_bpc.toFixed(3) : "—"],
    ["n-gram baseline", typeof detail.ngram_test_bpc === "number" ? detail.ngram_test_bpc.toFixed(3) : "—"],
  ];
  for (const [k, v] of facts) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    ui.modelFacts.append(dt, dd);
  }
  ui.modelCard.textContent = detail.card || "(no model card)";
}

/**
 * Changes the selection. Any of model, layer, state, unit may be given; the rest stay
 * (a model change resets layer/state to the model's defaults unless they are given).
 * Recolours from the cache when only the unit changed and it is cached, otherwise refetches.
 */
function setSelection(change = {}, { immediate = false } = {}) {
  if (errorSource === "selection" || errorSource === "url") clearError();
  let refetch = false;
  if (change.model !== undefined && change.model !== S.model) {
    if (!S.models.has(change.model)) {
      showError(`unknown model ${JSON.stringify(change.model)}; available: ${[...S.models.keys()].join(", ")}`, "selection");
      return getSelection();
    }
    S.model = change.model;
    const m = info();
    S.layer = m.layers - 1;
    S.state = defaultState(m);
    S.unit = Math.min(S.unit, m.hidden_size - 1);
    fillSelectors();
    loadModelDetails(S.model);
    refetch = true;
  }
  const m = info();
  if (!m) return getSelection();
  if (change.layer !== undefined) {
    const layer = clampInt(change.layer, 0, m.layers - 1, S.layer);
    if (layer !== S.layer) { S.layer = layer; refetch = true; }
  }
  if (change.state !== undefined && change.state !== S.state) {
    if (m.states.includes(change.state)) { S.state = change.state; refetch = true; }
    else showError(`unknown state ${JSON.stringify(change.state)} for ${S.model}; valid states: ${m.states.join(", ")}`, "selection");
  }
  let unitChanged = false;
  if (change.unit !== undefined) {
    const unit = clampInt(change.unit, 0, m.hidden_size - 1, S.unit);
    if (unit !== S.unit) { S.unit = unit; unitChanged = true; }
  }
  syncControls();
  if (refetch) {
    analyse();
  } else if (unitChanged) {
    const aOk = A && A.model === S.model && recolour(A);
    if (aOk) {
      if (A.finished) { updateUnitCard(); drawCharts(); }
    } else if (A) {
      clearTimeout(unitTimer);
      ui.coloured.dataset.ready = "0";
      if (immediate) analyse();
      else unitTimer = setTimeout(analyse, UNIT_REFETCH_DEBOUNCE_MS);
    } else {
      updateUnitCard();
    }
    if (G && G.model === S.model && G.layer === S.layer && G.state === S.state) {
      if (recolour(G)) updateGenCaption();
    }
    refreshTip();
  }
  writeUrlSoon();
  notify();
  return getSelection();
}

function getSelection() {
  const m = info();
  return { model: S.model, layer: S.layer, state: S.state, unit: S.unit, hiddenSize: m ? m.hidden_size : null,
    arch: m ? m.arch : null };
}

/** For other panels (e.g. the cells panel): select a unit, optionally in another layer/state/model. */
function selectUnit({ model, layer, state, unit } = {}) {
  if (model !== undefined && model !== S.model) setSelection({ model });
  return setSelection({ layer, state, unit }, { immediate: true });
}

function notify() {
  const sel = getSelection();
  for (const fn of listeners) {
    try { fn(sel); } catch (error) { console.warn("cellExplorer listener failed", error); }
  }
  document.dispatchEvent(new CustomEvent("cellexplorer:selection", { detail: sel }));
}

/* ------------------------------------------------------------------ unit card */

function unitSeries(view) {
  if (!view || !view.meta || view.unit !== S.unit) return null;
  const k = view.unitPos;
  const out = new Array(view.values.length);
  for (let i = 0; i < view.values.length; i++) out[i] = view.values[i][k];
  return out;
}

function updateUnitCard() {
  ui.unitName.textContent = `layer ${S.layer} · ${S.state} · unit ${S.unit}`;
  ui.unitStats.replaceChildren();
  const ys = A && A.finished ? unitSeries(A) : null;
  if (!ys || !ys.length) return;
  const gate = scaleFor(A.state).kind === "unit";
  const cut = gate ? 0.5 : 0;
  let min = Infinity, max = -Infinity, sum = 0, above = 0;
  for (const y of ys) {
    if (y < min) min = y;
    if (y > max) max = y;
    sum += y;
    if (y > cut) above++;
  }
  const rows = [
    ["min", min.toFixed(3)], ["max", max.toFixed(3)], ["mean", (sum / ys.length).toFixed(3)],
    [gate ? "open (> 0.5)" : "positive", `${((100 * above) / ys.length).toFixed(0)}% of characters`],
  ];
  for (const [k, v] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    ui.unitStats.append(dt, dd);
  }
}

/* ------------------------------------------------------------------ tooltip */

const tip = { view: null, i: -1, span: null, pinned: false };
let highlighted = null;

function highlight(span) {
  if (highlighted === span) return;
  if (highlighted) highlighted.classList.remove("hl");
  highlighted = span;
  if (span) span.classList.add("hl");
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmtValue(v) {
  return (v >= 0 ? "+" : "") + v.toFixed(4);
}

function buildTip(view, i) {
  const frag = document.createDocumentFragment();
  const ch = view.chars[i];
  const head = el("div", "tip-head");
  head.append(el("span", "tip-char", visibleChar(ch)));
  const name = CHAR_NAMES[ch];
  if (name) head.append(el("span", "tip-name", name));
  const where = view.kind === "sample" ? `generated character ${fmtInt.format(i)}` : `position ${fmtInt.format(i)}`;
  head.append(el("span", "tip-pos", where));
  frag.appendChild(head);
  if (view.unknown.has(i)) frag.appendChild(el("div", "tip-unk", "not in vocabulary — the model read its unknown symbol"));

  const k = view.unitPos;
  const v = view.values[i][k];
  const sc = scaleFor(view.state);
  const valueRow = el("div", "tip-value");
  const sw = el("span", "swatch");
  sw.style.backgroundColor = LUT[lutIndex(normaliser(view)(sc.f(v)))].bg;
  valueRow.append(sw, el("span", "tip-unit", `unit ${view.meta.units[k]} (${view.state})`), el("b", "", fmtValue(v)));
  if (view.state === "c") valueRow.append(el("span", "tip-sub", `tanh ${fmtValue(Math.tanh(v))}`));
  frag.appendChild(valueRow);

  if (view.kind === "text") {
    const top = view.top[i];
    if (top && top.length) {
      frag.appendChild(el("div", "tip-sec", "next character"));
      const list = el("ol", "tip-preds");
      const next = view.chars[i + 1];
      for (const pred of top) {
        const li = el("li", pred.char === next ? "hit" : "");
        li.append(el("span", "pc", visibleChar(pred.char)));
        const bar = el("span", "bar");
        const fill = el("span", "fill");
        fill.style.width = `${Math.max(1, Math.round(pred.p * 100))}%`;
        bar.appendChild(fill);
        li.append(bar, el("span", "pp", `${(pred.p * 100).toFixed(1)}%`));
        list.appendChild(li);
      }
      frag.appendChild(list);
    }
    const bits = view.bits[i];
    const bitsRow = el("div", "tip-bits");
    if (bits === null || bits === undefined) {
      bitsRow.textContent = "surprisal: — (no next character)";
    } else {
      bitsRow.append(`surprisal of next “${visibleChar(view.chars[i + 1] ?? "")}”: `, el("b", "", `${bits.toFixed(2)} bits`));
    }
    frag.appendChild(bitsRow);
  } else if (view.p[i] !== undefined) {
    const p = view.p[i];
    const row = el("div", "tip-bits");
    row.append("drawn with probability ", el("b", "", `${(p * 100).toFixed(1)}%`),
      ` (${(-Math.log2(Math.max(p, 1e-12))).toFixed(2)} bits)`);
    frag.appendChild(row);
  }
  if (tip.pinned) frag.appendChild(el("div", "tip-foot", "tap elsewhere or press Esc to close"));
  return frag;
}

function positionTip(span) {
  const r = span.getBoundingClientRect();
  const box = ui.tip;
  const w = box.offsetWidth;
  const h = box.offsetHeight;
  const margin = 8;
  let left = r.left + r.width / 2 - w / 2;
  left = Math.max(margin, Math.min(left, window.innerWidth - w - margin));
  let top = r.bottom + 8;
  if (top + h > window.innerHeight - margin && r.top - h - 8 > margin) top = r.top - h - 8;
  box.style.left = `${Math.round(left)}px`;
  box.style.top = `${Math.round(Math.max(margin, top))}px`;
}

function showTip(view, i, span, pinned = tip.pinned) {
  if (!view || !view.meta || i >= view.values.length) return;
  tip.view = view;
  tip.i = i;
  tip.span = span;
  tip.pinned = pinned;
  ui.tip.replaceChildren(buildTip(view, i));
  ui.tip.classList.toggle("pinned", pinned);
  ui.tip.hidden = false;
  positionTip(span);
}

function refreshTip() {
  if (!ui.tip.hidden && tip.view && tip.span && tip.span.isConnected) showTip(tip.view, tip.i, tip.span, tip.pinned);
}

function hideTip() {
  ui.tip.hidden = true;
  tip.view = null;
  tip.span = null;
  tip.pinned = false;
  highlight(null);
  if (window.Plotly && lineDrawn) {
    try { Plotly.Fx.unhover(ui.lineChart); } catch { /* chart not ready */ }
  }
}

function viewOf(container) {
  return container === ui.coloured ? A : G;
}

function hoverChart(i) {
  if (!window.Plotly || !lineDrawn || !A || lineLength <= i) return;
  try { Plotly.Fx.hover(ui.lineChart, [{ curveNumber: 0, pointNumber: i }]); } catch { /* chart busy */ }
}

function bindCharHover(container) {
  container.addEventListener("mouseover", (event) => {
    const span = event.target;
    if (!(span instanceof HTMLElement) || !span.classList.contains("ch") || tip.pinned) return;
    const view = viewOf(container);
    if (!view) return;
    highlight(span);
    showTip(view, span.idx, span, false);
    if (view === A) hoverChart(span.idx);
  });
  container.addEventListener("mouseleave", () => {
    if (!tip.pinned) hideTip();
  });
  container.addEventListener("click", (event) => {
    const span = event.target;
    if (!(span instanceof HTMLElement) || !span.classList.contains("ch")) return;
    const view = viewOf(container);
    if (!view) return;
    event.stopPropagation();
    if (tip.pinned && tip.span === span) { hideTip(); return; }
    highlight(span);
    showTip(view, span.idx, span, true);
    if (view === A) hoverChart(span.idx);
  });
}

/* ------------------------------------------------------------------ charts */

const PLOT_CONFIG = { displaylogo: false, responsive: true,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toImage"] };
const PLOT_FONT = { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 11, color: "#374151" };
let lineDrawn = false;
let lineLength = 0;
let heatDrawn = false;
let heatUnitsShown = [];
let heatToken = 0;

function clearCharts() {
  if (!window.Plotly) return;
  if (lineDrawn) Plotly.purge(ui.lineChart);
  if (heatDrawn) Plotly.purge(ui.heatChart);
  lineDrawn = heatDrawn = false;
  lineLength = 0;
}

function drawCharts() {
  drawLineChart();
  drawHeatmap();
}

function drawLineChart() {
  if (!window.Plotly || !A || !A.meta) return;
  const ys = unitSeries(A);
  if (!ys) return;
  const n = Math.min(ys.length, A.rendered || ys.length);
  const x = new Array(n);
  const text = new Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = i;
    text[i] = visibleChar(A.chars[i]);
  }
  const trace = {
    type: "scatter", mode: n <= 400 ? "lines+markers" : "lines", x, y: ys.slice(0, n), text,
    line: { color: "#4f46e5", width: 1.4 }, marker: { size: 3, color: "#4f46e5" },
    hovertemplate: "pos %{x} · %{text}<br>%{y:.4f}<extra></extra>",
  };
  const layout = {
    margin: { l: 48, r: 12, t: 8, b: 36 }, height: 220, font: PLOT_FONT,
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff",
    xaxis: { title: { text: "character position" }, zeroline: false, range: [-0.5, Math.max(n, A.meta.length) - 0.5] },
    yaxis: { title: { text: `${A.state} · unit ${A.unit}` }, zeroline: true, zerolinecolor: "#9ca3af" },
    hovermode: "closest", showlegend: false, dragmode: "zoom",
  };
  Plotly.react(ui.lineChart, [trace], layout, PLOT_CONFIG);
  lineLength = n;
  if (!lineDrawn) {
    lineDrawn = true;
    ui.lineChart.on("plotly_hover", (ev) => {
      const pt = ev.points && ev.points[0];
      if (!pt || !A || tip.pinned) return;
      const span = A.spans[pt.pointNumber];
      if (span) { highlight(span); scrollIntoContainer(ui.coloured, span); }
    });
    ui.lineChart.on("plotly_unhover", () => { if (!tip.pinned && ui.tip.hidden) highlight(null); });
  }
}

function scrollIntoContainer(container, span) {
  const c = container.getBoundingClientRect();
  const r = span.getBoundingClientRect();
  if (r.top < c.top) container.scrollTop -= c.top - r.top + 8;
  else if (r.bottom > c.bottom) container.scrollTop += r.bottom - c.bottom + 8;
}

function parseUnitList(spec, hidden) {
  const units = [];
  const seen = new Set();
  for (const token of spec.split(/[\s,;]+/).filter(Boolean)) {
    const range = token.match(/^(\d+)\s*[-–]\s*(\d+)$/);
    let lo, hi;
    if (range) { lo = Number(range[1]); hi = Number(range[2]); }
    else if (/^\d+$/.test(token)) { lo = hi = Number(token); }
    else return { error: `“${token}” is not a unit number or range` };
    if (hi < lo) [lo, hi] = [hi, lo];
    if (hi >= hidden) return { error: `unit ${hi} is out of range (0–${hidden - 1})` };
    for (let u = lo; u <= hi && units.length < HEAT_MAX_UNITS; u++) {
      if (!seen.has(u)) { seen.add(u); units.push(u); }
    }
  }
  return { units };
}

function heatUnits() {
  const m = info();
  const spec = ui.heatUnits.value.trim();
  if (!spec) return { units: Array.from({ length: Math.min(HEAT_DEFAULT_UNITS, m.hidden_size) }, (_, k) => k) };
  const parsed = parseUnitList(spec, m.hidden_size);
  if (!parsed.error && !parsed.units.length) return { error: "no units given" };
  return parsed;
}

let heatCache = null; // {key, values} of the last heatmap fetched separately

async function heatValues(view, units) {
  if (units.every((u) => view.unitIndex.has(u))) {
    return units.map((u) => view.unitIndex.get(u));
  }
  const key = JSON.stringify([view.model, view.layer, view.state, units, view.text]);
  if (!heatCache || heatCache.key !== key) {
    // the model reads left to right, so a prefix has the same activations as the full text
    const text = view.values.length > HEAT_MAX_CHARS ? codePoints(view.text).slice(0, HEAT_MAX_CHARS).join("") : view.text;
    const data = await postJson("/api/activations", {
      model: view.model, text, layer: view.layer, state: view.state, units, topk: 0, bits: false,
    }, { signal: view.controller.signal });
    heatCache = { key, values: data.values };
  }
  return null; // values come from heatCache
}

async function drawHeatmap() {
  if (!window.Plotly || !A || !A.finished || A.failed) return;
  const view = A;
  const token = ++heatToken;
  const parsed = heatUnits();
  if (parsed.error) {
    ui.heatHint.textContent = parsed.error;
    ui.heatHint.classList.add("bad");
    return;
  }
  ui.heatHint.classList.remove("bad");
  const units = parsed.units;
  let cols;
  try {
    cols = await heatValues(view, units);
  } catch (error) {
    if (!isAbort(error) && token === heatToken) showError(`heatmap: ${error.message}`, "heatmap");
    return;
  }
  clearError("heatmap");
  if (token !== heatToken || view !== A) return;
  const sc = scaleFor(view.state);
  const n = Math.min(view.values.length, HEAT_MAX_CHARS);
  const z = units.map((_, k) => {
    const row = new Array(n);
    for (let i = 0; i < n; i++) {
      const v = cols ? view.values[i][cols[k]] : heatCache.values[i][k];
      row[i] = sc.f(v);
    }
    return row;
  });
  const colorscale = sc.kind === "unit"
    ? [[0, "rgb(255,255,255)"], [1, `rgb(${POS_RGB.join(",")})`]]
    : [[0, `rgb(${NEG_RGB.join(",")})`], [0.5, "rgb(255,255,255)"], [1, `rgb(${POS_RGB.join(",")})`]];
  const selectedRow = units.indexOf(S.unit);
  const rowHeight = units.length > 48 ? 6 : 12;
  const trace = {
    type: "heatmap", z, x: Array.from({ length: n }, (_, i) => i), y: units.map((_, k) => k),
    colorscale, zmin: sc.kind === "unit" ? 0 : -1, zmax: 1, xgap: 0, ygap: units.length > 64 ? 0 : 1,
    colorbar: { thickness: 10, len: 0.9, title: { text: sc.label, side: "right" }, outlinewidth: 0 },
    customdata: units.map((u) => new Array(n).fill(u)),
    hovertemplate: "unit %{customdata} · pos %{x}<br>" + sc.label + " %{z:.3f}<extra></extra>",
  };
  const tickStep = Math.max(1, Math.ceil(units.length / 16));
  const layout = {
    margin: { l: 48, r: 8, t: 8, b: 36 }, height: Math.max(160, units.length * rowHeight + 60), font: PLOT_FONT,
    paper_bgcolor: "rgba(0,0,0,0)",
    xaxis: { title: { text: n < view.values.length ? `character position (first ${fmtInt.format(n)})` : "character position" } },
    yaxis: { autorange: "reversed", tickvals: units.map((_, k) => k).filter((k) => k % tickStep === 0),
      ticktext: units.filter((_, k) => k % tickStep === 0).map(String), title: { text: "unit" } },
    shapes: selectedRow >= 0 ? [{ type: "rect", xref: "paper", x0: 0, x1: 1, yref: "y", y0: selectedRow - 0.5,
      y1: selectedRow + 0.5, line: { color: "#111827", width: 1.5 } }] : [],
  };
  Plotly.react(ui.heatChart, [trace], layout, PLOT_CONFIG);
  heatUnitsShown = units;
  ui.heatHint.textContent = "click a row to select that unit";
  if (!heatDrawn) {
    heatDrawn = true;
    ui.heatChart.on("plotly_click", (ev) => {
      const pt = ev.points && ev.points[0];
      if (!pt) return;
      const unit = heatUnitsShown[pt.y];
      if (unit !== undefined) selectUnit({ unit });
    });
    ui.heatChart.on("plotly_hover", (ev) => {
      const pt = ev.points && ev.points[0];
      if (!pt || !A || tip.pinned) return;
      const span = A.spans[pt.x];
      if (span) { highlight(span); scrollIntoContainer(ui.coloured, span); }
    });
    ui.heatChart.on("plotly_unhover", () => { if (!tip.pinned && ui.tip.hidden) highlight(null); });
  }
}

/* ------------------------------------------------------------------ generation */

function setGenerating(on) {
  ui.genGo.disabled = on;
  ui.genStop.disabled = !on;
}

function updateGenCaption() {
  if (!G || !G.meta) return;
  ui.genCaption.textContent = `${G.model} · layer ${G.layer} · ${G.state} · coloured by unit ${G.unit}`;
}

async function generate() {
  const m = info();
  if (!m) return;
  killView(G);
  hideTip();
  const length = clampInt(ui.genLength.value, 1, 5000, 300);
  const temperature = Number.parseFloat(ui.genTemp.value);
  const seed = clampInt(ui.genSeed.value, 0, Number.MAX_SAFE_INTEGER, 0);
  const allUnits = length * m.hidden_size <= ALL_UNITS_BUDGET;
  const request = {
    model: S.model, prime: ui.genPrime.value, length, temperature: Number.isFinite(temperature) ? temperature : 1,
    seed, layer: S.layer, state: S.state, units: allUnits ? null : [S.unit],
  };
  const view = newView("sample", ui.sample, request);
  G = view;
  ui.sample.dataset.ready = "0";
  ui.sample.classList.add("stale");
  setGenerating(true);
  setStatus(ui.genStatus, "generating…");
  try {
    await streamNdjson("/api/sample", request, {
      signal: view.controller.signal,
      onLine: (line) => {
        if (view.dead) return;
        if (!view.meta) { setMeta(view, line); updateGenCaption(); }
        else addRow(view, line);
      },
    });
    if (view.dead) return;
    clearError("sample");
  } catch (error) {
    if (view.dead) return;
    if (isAbort(error)) {
      view.aborted = true;
    } else {
      view.failed = true;
      showError(error.message || String(error), "sample");
      setStatus(ui.genStatus, "generation failed (see the message above)");
      ui.sample.classList.remove("stale");
      setGenerating(false);
      return;
    }
  }
  view.streamDone = true;
  schedule(view);
}

function stopGenerating() {
  if (G && !G.streamDone) G.controller.abort();
}

/* ------------------------------------------------------------------ URL */

function writeUrl() {
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

function writeUrlSoon() {
  clearTimeout(urlTimer);
  urlTimer = setTimeout(writeUrl, 200);
}

function readUrl() {
  const params = new URLSearchParams(location.search);
  const get = (k) => (params.has(k) ? params.get(k) : undefined);
  return { model: get("model"), layer: get("layer"), state: get("state"), unit: get("unit"),
    text: get("text"), units: get("units") };
}

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
  onSelectionChange(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
  /** Summary of the selected model (from GET /api/models). */
  getModel: () => (info() ? { ...info() } : null),
  /** The activations currently shown, for the selected unit: {chars, values} or null. */
  getSeries: () => (A && A.finished ? { chars: A.chars.slice(), values: unitSeries(A) } : null),
  cellsPanel: ui.cellsPanel,
  reanalyse: analyse,
};

init();
