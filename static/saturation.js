// The gate-saturation scatter (#saturation-panel, side column): GET /api/models/{m}/saturation, a Plotly
// scatter of every sigmoid gate unit (Karpathy et al. 2015, Fig. 3); a click selects that unit.
// Test hooks: data-ready on #saturation-panel.

import { el } from "./cells-dom.js";
import { explorer, sel, modelToken } from "./cells-state.js";
import { hasAnalysis, loadSaturation } from "./cells-api.js";

export const LEFT_SAT = 0.1;
export const RIGHT_SAT = 0.9;
const GATED = new Set(["lstm", "gru"]);
const LAYER_COLOURS = ["#0f9d76", "#4f46e5", "#d97706", "#db2777", "#0284c7", "#7c3aed"];
const GATE_SYMBOLS = { "gates.i": "circle", "gates.f": "square", "gates.o": "diamond",
  "gates.r": "triangle-up", "gates.z": "x" };
const GATE_NAMES = { "gates.i": "input", "gates.f": "forget", "gates.o": "output", "gates.r": "reset",
  "gates.z": "update" };
const PLOT_FONT = { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 11, color: "#374151" };
const PLOT_CONFIG = { displaylogo: false, responsive: true,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toImage"] };

const ui = {};
let satDrawn = false;
let satTraces = []; // per trace index: {layer, gate} (the last trace is the selection ring)
let satData = null; // the saturation response drawn

export function buildSaturationPanel(panel) {
  const head = el("div", "panel-head");
  head.append(el("span", "panel-title", "Gate saturation"),
    el("span", "hint", "click a point to select that gate unit"));
  ui.satChart = el("div", "chart sat-chart");
  ui.satChart.id = "saturation-chart";
  ui.satNote = el("p", "sat-note");
  panel.replaceChildren(head, ui.satChart, ui.satNote);
  panel.dataset.ready = "0";
  panel.hidden = true;
  ui.satPanel = panel;
}

export function hideSaturation() {
  ui.satPanel.hidden = true;
  ui.satPanel.dataset.ready = "0";
  if (satDrawn && window.Plotly) Plotly.purge(ui.satChart);
  satDrawn = false;
  satData = null;
}

export async function showSaturation(model, token) {
  const m = explorer.getModel();
  if (!window.Plotly || !m || m.name !== model || !GATED.has(m.arch) || !(await hasAnalysis(model))) {
    if (token === modelToken) hideSaturation();
    return;
  }
  let data;
  try {
    data = await loadSaturation(model);
  } catch (error) {
    if (token !== modelToken) return;
    ui.satPanel.hidden = false;
    ui.satNote.textContent = `could not load the saturation: ${error.message}`;
    return;
  }
  if (token !== modelToken) return;
  if (!data.gates.length) { hideSaturation(); return; }
  ui.satPanel.hidden = false; // before drawing, so plotly measures the real width
  satData = data;
  ui.satNote.textContent = "Each point is one gate unit: the fraction of the sample's "
    + `${data.sample_chars.toLocaleString("en-US")} characters where it is open (> ${RIGHT_SAT}, x) `
    + `or closed (< ${LEFT_SAT}, y). `
    + "Fractions add to at most 1 (the diagonal).";
  drawSaturation();
  ui.satPanel.dataset.ready = "1";
}

function selectionRing() {
  const ring = { type: "scatter", mode: "markers", x: [], y: [], hoverinfo: "skip", showlegend: false,
    cliponaxis: false, marker: { symbol: "circle-open", size: 16, color: "#111827", line: { width: 2 } } };
  if (!satData || sel.model !== satData.model) return ring;
  const g = satData.gates.find((gate) => gate.layer === sel.layer && gate.gate === sel.state);
  if (g && sel.unit < g.right.length) {
    ring.x = [g.right[sel.unit]];
    ring.y = [g.left[sel.unit]];
  }
  return ring;
}

function drawSaturation() {
  if (!satData || !window.Plotly) return;
  const traces = [];
  satTraces = [];
  for (const g of satData.gates) {
    const units = g.right.map((_, u) => u);
    traces.push({
      type: "scatter", mode: "markers", x: g.right, y: g.left, customdata: units, cliponaxis: false,
      name: `L${g.layer} ${GATE_NAMES[g.gate] || g.gate}`,
      marker: { size: g.right.length > 128 ? 5 : 7, color: LAYER_COLOURS[g.layer % LAYER_COLOURS.length],
        symbol: GATE_SYMBOLS[g.gate] || "circle", opacity: 0.7, line: { width: 0 } },
      hovertemplate: `layer ${g.layer} · ${g.gate} · unit %{customdata}<br>open (> ${RIGHT_SAT}) %{x:.2f} · `
        + `closed (< ${LEFT_SAT}) %{y:.2f}<extra></extra>`,
    });
    satTraces.push({ layer: g.layer, gate: g.gate });
  }
  traces.push(selectionRing());
  const layout = {
    margin: { l: 44, r: 10, t: 6, b: 40 }, height: 360, font: PLOT_FONT,
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff",
    xaxis: { range: [0, 1], title: { text: "fraction right-saturated (> 0.9)" }, zeroline: false, gridcolor: "#eef0f4",
      constrain: "domain", dtick: 0.25 },
    yaxis: { range: [0, 1], title: { text: "fraction left-saturated (< 0.1)" }, zeroline: false, gridcolor: "#eef0f4",
      dtick: 0.25, scaleanchor: "x", scaleratio: 1, constrain: "domain" },
    shapes: [{ type: "line", xref: "x", yref: "y", x0: 0, y0: 1, x1: 1, y1: 0, layer: "below",
      line: { color: "#9ca3af", width: 1, dash: "dash" } }],
    legend: { orientation: "h", x: 0, y: -0.2, yanchor: "top", font: { size: 10 } },
    hovermode: "closest", dragmode: "zoom", uirevision: satData.model,
  };
  layout.margin.b = 40 + 18 * Math.ceil(satTraces.length / 3);
  layout.height = 300 + layout.margin.b;
  Plotly.react(ui.satChart, traces, layout, PLOT_CONFIG);
  if (!satDrawn) {
    satDrawn = true;
    ui.satChart.on("plotly_click", (event) => {
      const pt = event && event.points && event.points[0];
      if (!pt) return;
      const meta = satTraces[pt.curveNumber];
      if (!meta) return; // the selection ring
      const unit = typeof pt.customdata === "number" ? pt.customdata : pt.pointNumber;
      explorer.selectUnit({ layer: meta.layer, state: meta.gate, unit });
    });
  }
}

export function updateSaturationSelection() {
  if (!satDrawn || !satData || !window.Plotly) return;
  const ring = selectionRing();
  Plotly.restyle(ui.satChart, { x: [ring.x], y: [ring.y] }, [satTraces.length]);
}
