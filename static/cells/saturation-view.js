// The gate-saturation scatter (#saturation-panel, side column): GET /api/models/{m}/saturation, every
// sigmoid gate unit as a point (Karpathy et al. 2015, Fig. 3), the selected one ringed; a click
// selects that unit. Test hook: data-ready on #saturation-panel.

import { appStore, currentModel } from "../store/app.js";
import { touches } from "../store/writable.js";
import { select } from "../store/selection.js";
import { gateSaturation } from "../api/client.js";
import { byId, element } from "../lib/dom.js";
import { PLOT_CONFIG, PLOT_FONT, firstPoint, plotly } from "../lib/plotly.js";
import { LEFT_SAT, RIGHT_SAT } from "../lib/saturation.js";
import { hasAnalysis } from "./stored.js";

const GATED = new Set(["lstm", "gru"]);
const LAYER_COLOURS = ["#0f9d76", "#4f46e5", "#d97706", "#db2777", "#0284c7", "#7c3aed"];
const GATE_SYMBOLS = { "gates.i": "circle", "gates.f": "square", "gates.o": "diamond", "gates.r": "triangle-up",
  "gates.z": "x" };
const GATE_NAMES = { "gates.i": "input", "gates.f": "forget", "gates.o": "output", "gates.r": "reset",
  "gates.z": "update" };

function ring(data, selection) {
  const trace = { type: "scatter", mode: "markers", x: [], y: [], hoverinfo: "skip", showlegend: false,
    cliponaxis: false, marker: { symbol: "circle-open", size: 16, color: "#111827", line: { width: 2 } } };
  const gate = data && data.model === selection.model
    && data.gates.find((g) => g.layer === selection.layer && g.gate === selection.state);
  if (gate && selection.unit < gate.right.length) {
    trace.x = [gate.right[selection.unit]];
    trace.y = [gate.left[selection.unit]];
  }
  return trace;
}

function gateTrace(g) {
  return {
    type: "scatter", mode: "markers", x: g.right, y: g.left, customdata: g.right.map((_, u) => u), cliponaxis: false,
    name: `L${g.layer} ${GATE_NAMES[g.gate] || g.gate}`,
    marker: { size: g.right.length > 128 ? 5 : 7, color: LAYER_COLOURS[g.layer % LAYER_COLOURS.length],
      symbol: GATE_SYMBOLS[g.gate] || "circle", opacity: 0.7, line: { width: 0 } },
    hovertemplate: `layer ${g.layer} · ${g.gate} · unit %{customdata}<br>open (> ${RIGHT_SAT}) %{x:.2f} · `
      + `closed (< ${LEFT_SAT}) %{y:.2f}<extra></extra>`,
  };
}

export function mountSaturation() {
  const panel = byId("saturation-panel");
  const head = element("div", "panel-head");
  head.append(element("span", "panel-title", "Gate saturation"), element("span", "hint", "click a point to select that gate unit"));
  const chart = element("div", "chart sat-chart");
  chart.id = "saturation-chart";
  const note = element("p", "sat-note");
  panel.replaceChildren(head, chart, note);
  panel.dataset.ready = "0";
  panel.hidden = true;
  let drawn = false;
  let data = null; // the saturation drawn

  function hide() {
    panel.hidden = true;
    panel.dataset.ready = "0";
    if (drawn && plotly()) plotly().purge(chart);
    drawn = false;
    data = null;
  }

  async function show(state) {
    const model = state.model;
    const summary = currentModel(state);
    const stillShown = () => appStore.get().model === model;
    if (!plotly() || !summary || !GATED.has(summary.arch) || !(await hasAnalysis(model))) {
      if (stillShown()) hide();
      return;
    }
    let answer;
    try {
      answer = await gateSaturation(model);
    } catch (error) {
      if (!stillShown()) return;
      panel.hidden = false;
      note.textContent = `could not load the saturation: ${error.message}`;
      return;
    }
    if (!stillShown()) return;
    if (!answer.gates.length) { hide(); return; }
    panel.hidden = false; // before drawing, so plotly measures the real width
    data = answer;
    note.textContent = "Each point is one gate unit: the fraction of the sample's "
      + `${data.sample_chars.toLocaleString("en-US")} characters where it is open (> ${RIGHT_SAT}, x) `
      + `or closed (< ${LEFT_SAT}, y). Fractions add to at most 1 (the diagonal).`;
    draw();
    panel.dataset.ready = "1";
  }

  function draw() {
    const legendRows = Math.ceil(data.gates.length / 3);
    const layout = {
      margin: { l: 44, r: 10, t: 6, b: 40 + 18 * legendRows }, height: 340 + 18 * legendRows, font: PLOT_FONT,
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff",
      xaxis: { range: [0, 1], title: { text: "fraction right-saturated (> 0.9)" }, zeroline: false, gridcolor: "#eef0f4",
        constrain: "domain", dtick: 0.25 },
      yaxis: { range: [0, 1], title: { text: "fraction left-saturated (< 0.1)" }, zeroline: false, gridcolor: "#eef0f4",
        dtick: 0.25, scaleanchor: "x", scaleratio: 1, constrain: "domain" },
      shapes: [{ type: "line", xref: "x", yref: "y", x0: 0, y0: 1, x1: 1, y1: 0, layer: "below",
        line: { color: "#9ca3af", width: 1, dash: "dash" } }],
      legend: { orientation: "h", x: 0, y: -0.2, yanchor: "top", font: { size: 10 } },
      hovermode: "closest", dragmode: "zoom", uirevision: data.model,
    };
    plotly().react(chart, [...data.gates.map(gateTrace), ring(data, appStore.get())], layout, PLOT_CONFIG);
    if (drawn) return;
    drawn = true;
    chart.on("plotly_click", (event) => {
      const point = firstPoint(event);
      const gate = point && data && data.gates[point.curveNumber];
      if (!gate) return; // the selection ring
      const unit = typeof point.customdata === "number" ? point.customdata : point.pointNumber;
      select({ layer: gate.layer, state: gate.gate, unit });
    });
  }

  appStore.subscribe((state, changed) => {
    if (changed.has("model")) {
      hide();
      if (state.model) show(state);
    } else if (touches(changed, "layer", "state", "unit") && drawn && data) {
      const trace = ring(data, state);
      plotly().restyle(chart, { x: [trace.x], y: [trace.y] }, [data.gates.length]);
    }
  });
}
