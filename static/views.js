// A "view": one streamed text ({chars, values, top, bits, p, spans, ...}), rendered in batches per
// animation frame by pump() and recoloured for another cached unit by recolour().

import { LUT, lutIndex, paint, scaleFor } from "./colors.js";
import { ui, fmtInt, setStatus } from "./dom.js";
import { makeCharNodes } from "./chars.js";
import { S } from "./state.js";
import { updateUnitCard } from "./cards.js";
import { drawCharts, drawLineChart } from "./charts.js";
import { setGenerating } from "./generate.js";

export const ALL_UNITS_BUDGET = 2_000_000; // cache every unit when characters x hidden_size is at most this
const CHART_INTERVAL_MS = 500;
const FRAME_BUDGET_MS = 12;

export function newView(kind, container, request) {
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

export function setMeta(view, meta) {
  view.meta = meta;
  view.unitIndex = new Map(meta.units.map((u, k) => [u, k]));
  view.unknown = new Set(meta.unknown || []);
  view.layer = meta.layer;
  view.state = meta.state;
  view.sc = scaleFor(meta.state);
  view.unitPos = view.unitIndex.has(S.unit) ? view.unitIndex.get(S.unit) : 0;
  view.unit = meta.units[view.unitPos];
}

export function addRow(view, row) {
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

export function schedule(view) {
  if (!view.raf) view.raf = requestAnimationFrame(() => pump(view));
}

/**
 * Maps a transformed value to [-1, 1] (or [0, 1] for sigmoid gates) for the colour table.
 * Fixed scale by default; with auto contrast, signed states are divided by the largest
 * |value| and sigmoid gates are stretched from their min..max in this text to 0..1.
 */
export function normaliser(view) {
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
export function recolour(view) {
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

export function killView(view) {
  if (!view) return;
  view.dead = true;
  view.controller.abort();
  if (view.raf) cancelAnimationFrame(view.raf);
}

/** The selected unit's raw values along a view, or null when the view shows another unit. */
export function unitSeries(view) {
  if (!view || !view.meta || view.unit !== S.unit) return null;
  const k = view.unitPos;
  const out = new Array(view.values.length);
  for (let i = 0; i < view.values.length; i++) out[i] = view.values[i][k];
  return out;
}
