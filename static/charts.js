// The Plotly charts under the text: the selected unit along the text (line) and units x characters (heatmap).
// Hovering either finds the character in the coloured text; clicking a heatmap row selects that unit.

import { postJson, isAbort } from "./ndjson.js";
import { NEG_RGB, POS_RGB, scaleFor } from "./colors.js";
import { ui, fmtInt, showError, clearError } from "./dom.js";
import { codePoints, visibleChar } from "./chars.js";
import { S, info, selectUnit } from "./state.js";
import { A } from "./analyse.js";
import { unitSeries } from "./views.js";
import { tip, highlight } from "./tooltip.js";

const HEAT_DEFAULT_UNITS = 32;
const HEAT_MAX_UNITS = 128;
const HEAT_MAX_CHARS = 20_000;

const PLOT_CONFIG = { displaylogo: false, responsive: true,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toImage"] };
const PLOT_FONT = { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 11, color: "#374151" };
let lineDrawn = false;
let lineLength = 0;
let heatDrawn = false;
let heatUnitsShown = [];
let heatToken = 0;

export function clearCharts() {
  if (!window.Plotly) return;
  if (lineDrawn) Plotly.purge(ui.lineChart);
  if (heatDrawn) Plotly.purge(ui.heatChart);
  lineDrawn = heatDrawn = false;
  lineLength = 0;
}

export function drawCharts() {
  drawLineChart();
  drawHeatmap();
}

export function drawLineChart() {
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

/** Shows the line chart's point for character i, as if hovered. */
export function hoverLine(i) {
  if (!window.Plotly || !lineDrawn || !A || lineLength <= i) return;
  try { Plotly.Fx.hover(ui.lineChart, [{ curveNumber: 0, pointNumber: i }]); } catch { /* chart busy */ }
}

export function unhoverLine() {
  if (window.Plotly && lineDrawn) {
    try { Plotly.Fx.unhover(ui.lineChart); } catch { /* chart not ready */ }
  }
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

export async function drawHeatmap() {
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
