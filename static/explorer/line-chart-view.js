// The selected unit along the analysed text (Plotly line chart, #line-chart), redrawn at most every
// REDRAW_MS while the text streams. A long text is drawn as each stretch's extremes (lib/decimate.js).
// Hovering the chart inspects the character in the text; inspecting a character marks its point.

import { appStore } from "../store/app.js";
import { touches } from "../store/writable.js";
import { visibleChar } from "../lib/chars.js";
import { lineIndices } from "../lib/decimate.js";
import { byId } from "../lib/dom.js";
import { PLOT_CONFIG, PLOT_FONT, firstPoint, plotly } from "../lib/plotly.js";
import { hasEnded, unitColumn } from "./stream-record.js";

const REDRAW_MS = 500;
const MAX_POINTS = 4000;
const MARKERS_UP_TO = 400;

export function mountLineChart() {
  const chart = byId("line-chart");
  const title = byId("line-title");
  let drawn = false;
  let indices = []; // character index of each point drawn
  let nextDraw = 0;
  let timer = 0;

  function purge() {
    if (drawn && plotly()) plotly().purge(chart);
    drawn = false;
    indices = [];
  }

  function draw() {
    clearTimeout(timer);
    timer = 0;
    const Plotly = plotly();
    const { textView: record, unit } = appStore.get();
    const ys = unitColumn(record, unit);
    if (!Plotly || !ys) return;
    const started = performance.now();
    const n = ys.length;
    indices = lineIndices(ys, MAX_POINTS);
    const trace = {
      type: "scatter", mode: n <= MARKERS_UP_TO ? "lines+markers" : "lines",
      x: indices, y: indices.map((i) => ys[i]), text: indices.map((i) => visibleChar(record.chars[i])),
      line: { color: "#4f46e5", width: 1.4 }, marker: { size: 3, color: "#4f46e5" },
      hovertemplate: "pos %{x} · %{text}<br>%{y:.4f}<extra></extra>",
    };
    const layout = {
      margin: { l: 48, r: 12, t: 8, b: 36 }, height: 220, font: PLOT_FONT,
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff",
      xaxis: { title: { text: "character position" }, zeroline: false, range: [-0.5, Math.max(n, record.length) - 0.5] },
      yaxis: { title: { text: `${record.state} · unit ${unit}` }, zeroline: true, zerolinecolor: "#9ca3af" },
      hovermode: "closest", showlegend: false, dragmode: "zoom",
    };
    Plotly.react(chart, [trace], layout, PLOT_CONFIG);
    if (!drawn) bindHover();
    drawn = true;
    nextDraw = performance.now() + Math.max(REDRAW_MS, 6 * (performance.now() - started));
  }

  function bindHover() {
    chart.on("plotly_hover", (event) => {
      const point = firstPoint(event);
      const { caret } = appStore.get();
      if (!point || (caret && caret.pinned)) return;
      appStore.set({ caret: { source: "text", index: indices[point.pointNumber], pinned: false, via: "chart" } });
    });
    chart.on("plotly_unhover", () => {
      const { caret } = appStore.get();
      if (caret && caret.via === "chart") appStore.set({ caret: null });
    });
  }

  /** Plotly's hover label on the point nearest character i, as if the chart were hovered. */
  function markPoint(i) {
    if (!drawn || !indices.length) return;
    let lo = 0, hi = indices.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (indices[mid] < i) lo = mid + 1;
      else hi = mid;
    }
    try { plotly().Fx.hover(chart, [{ curveNumber: 0, pointNumber: lo }]); } catch { /* chart busy */ }
  }

  appStore.subscribe((state, changed) => {
    if (touches(changed, "model", "unit")) title.textContent = `Unit ${state.unit} along the text`;
    if (touches(changed, "textView", "unit")) {
      const record = state.textView;
      if (!record || record.phase === "failed") { purge(); return; }
      if (!unitColumn(record, state.unit)) return; // the refetch for this unit will draw it
      if (hasEnded(record) || changed.has("unit")) draw();
      else if (!timer) timer = setTimeout(draw, Math.max(0, nextDraw - performance.now()));
    }
    if (changed.has("caret")) {
      const caret = state.caret;
      if (caret && caret.source === "text" && caret.via !== "chart") markPoint(caret.index);
      else if (!caret && drawn) {
        try { plotly().Fx.unhover(chart); } catch { /* chart not ready */ }
      }
    }
  });
}
