// Units × characters (Plotly heatmap, #heat-chart) for the units typed in #heat-units (default: the
// first 32). Units the analysed record lacks are fetched for the first HEAT_MAX_CHARS characters.
// A long text is binned into at most MAX_COLUMNS columns, each its stretch's strongest value, and the
// chart is drawn in a task of its own, after the text and the line chart.
// Clicking a row selects that unit; hovering inspects the character in the text.

import { appStore, currentModel } from "../store/app.js";
import { touches } from "../store/writable.js";
import { clearError, reportError } from "../store/errors.js";
import { select } from "../store/selection.js";
import { activations } from "../api/client.js";
import { isAbort } from "../api/http.js";
import { plotlyColourscale, scaleFor } from "../lib/colours.js";
import { codePoints } from "../lib/chars.js";
import { columnRanges, strongest } from "../lib/decimate.js";
import { byId } from "../lib/dom.js";
import { fmtInt } from "../lib/format.js";
import { PLOT_CONFIG, PLOT_FONT, firstPoint, plotly } from "../lib/plotly.js";
import { parseUnitList } from "../lib/units.js";
import { isComplete } from "./stream-record.js";

const HEAT_MAX_CHARS = 20_000;
const MAX_COLUMNS = 1500;
// Gaps between rows make Plotly paint every cell at full size (about 6 ms per 1,000 cells, in one
// task) instead of one pixel per cell, scaled: only small heatmaps get them.
const GAPPED_CELLS = 8000;
const TYPE_DEBOUNCE_MS = 400;
const HINT = "click a row to select that unit";

export function mountHeatmap() {
  const chart = byId("heat-chart");
  const input = byId("heat-units");
  const hint = byId("heat-hint");
  let drawn = false;
  let shown = { units: [], starts: [], x0: 0, dx: 1 }; // the rows' units, the columns' first characters
  let fetched = null; // {key, columns} of the last units fetched separately
  let token = 0;
  let typing = 0;
  let soon = 0;

  input.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => appStore.set({ heatUnits: input.value }), TYPE_DEBOUNCE_MS);
  });

  /** Per unit, its values along the record (or its first HEAT_MAX_CHARS characters). */
  async function columnsFor(record, units) {
    if (units.every((u) => record.unitIndex.has(u))) return units.map((u) => record.columns[record.unitIndex.get(u)]);
    const key = JSON.stringify([record.model, record.layer, record.state, units, record.request.text]);
    if (!fetched || fetched.key !== key) {
      // the model reads left to right, so a prefix has the same activations as the full text
      const text = record.received > HEAT_MAX_CHARS ? codePoints(record.request.text).slice(0, HEAT_MAX_CHARS).join("")
        : record.request.text;
      const data = await activations({ model: record.model, text, layer: record.layer, state: record.state, units,
        topk: 0, bits: false });
      fetched = { key, columns: units.map((_, k) => data.values.map((row) => row[k])) };
    }
    return fetched.columns;
  }

  async function draw() {
    const state = appStore.get();
    const record = state.textView;
    const Plotly = plotly();
    const summary = currentModel(state);
    if (!Plotly || !isComplete(record) || !summary) return;
    const mine = ++token;
    const parsed = parseUnitList(state.heatUnits, summary.hidden_size);
    hint.classList.toggle("bad", Boolean(parsed.error));
    if (parsed.error) { hint.textContent = parsed.error; return; }
    let columns;
    try {
      columns = await columnsFor(record, parsed.units);
    } catch (error) {
      if (!isAbort(error) && mine === token) reportError(`heatmap: ${error.message}`, "heatmap");
      return;
    }
    if (mine !== token || appStore.get().textView !== record) return;
    clearError("heatmap");
    const scale = scaleFor(record.state);
    const n = Math.min(columns[0].length, HEAT_MAX_CHARS);
    const ranges = columnRanges(n, MAX_COLUMNS);
    const z = columns.map((ys) => ranges.map(([a, b]) => scale.transform(strongest((i) => ys[i], a, b))));
    const units = parsed.units;
    // evenly spaced columns (x0, dx) let Plotly paint one pixel per cell and scale the image ("fast")
    const dx = n / ranges.length;
    shown = { units, starts: ranges.map(([a]) => a), x0: dx / 2 - 0.5, dx };
    const rowHeight = units.length > 48 ? 6 : 12;
    const gapped = units.length <= 64 && units.length * ranges.length <= GAPPED_CELLS;
    const tickStep = Math.max(1, Math.ceil(units.length / 16));
    // rows as categories named by their unit: the hover label reads the unit from y, with no per-cell data
    const trace = {
      type: "heatmap", z, x0: shown.x0, dx, y: units.map(String), colorscale: plotlyColourscale(scale.domain),
      zmin: scale.domain === "unit" ? 0 : -1, zmax: 1, xgap: 0, ygap: gapped ? 1 : 0, zsmooth: gapped ? false : "fast",
      colorbar: { thickness: 10, len: 0.9, title: { text: scale.label, side: "right" }, outlinewidth: 0 },
      hovertemplate: "unit %{y} · pos %{x:.0f}<br>" + scale.label + " %{z:.3f}<extra></extra>",
    };
    const first = n < record.received ? ` (first ${fmtInt.format(n)})` : "";
    const layout = {
      margin: { l: 48, r: 8, t: 8, b: 36 }, height: Math.max(160, units.length * rowHeight + 60), font: PLOT_FONT,
      paper_bgcolor: "rgba(0,0,0,0)",
      xaxis: { title: { text: `character position${first}` } },
      yaxis: { type: "category", autorange: "reversed", title: { text: "unit" },
        tickvals: units.filter((_, k) => k % tickStep === 0).map(String) },
      shapes: selectedRowShape(state.unit),
    };
    Plotly.react(chart, [trace], layout, PLOT_CONFIG);
    hint.textContent = HINT;
    if (!drawn) bindEvents();
    drawn = true;
  }

  function drawSoon() {
    clearTimeout(soon);
    soon = setTimeout(draw, 0);
  }

  function selectedRowShape(unit) {
    const row = shown.units.indexOf(unit);
    return row < 0 ? [] : [{ type: "rect", xref: "paper", x0: 0, x1: 1, yref: "y", y0: row - 0.5, y1: row + 0.5,
      line: { color: "#111827", width: 1.5 } }];
  }

  function bindEvents() {
    chart.on("plotly_click", (event) => {
      const point = firstPoint(event);
      if (point) select({ unit: Number(point.y) });
    });
    chart.on("plotly_hover", (event) => {
      const point = firstPoint(event);
      const { caret } = appStore.get();
      if (!point || (caret && caret.pinned)) return;
      const index = shown.starts[Math.round((point.x - shown.x0) / shown.dx)];
      if (index !== undefined) appStore.set({ caret: { source: "text", index, pinned: false, via: "chart" } });
    });
    chart.on("plotly_unhover", () => {
      const { caret } = appStore.get();
      if (caret && caret.via === "chart") appStore.set({ caret: null });
    });
  }

  appStore.subscribe((state, changed) => {
    if (changed.has("heatUnits") && input.value !== state.heatUnits) input.value = state.heatUnits;
    const record = state.textView;
    if (touches(changed, "textView") && (!record || record.phase === "failed")) {
      if (drawn && plotly()) plotly().purge(chart);
      drawn = false;
      return;
    }
    if (touches(changed, "textView", "heatUnits") && isComplete(record)) drawSoon();
    else if (changed.has("unit") && drawn) plotly().relayout(chart, { shapes: selectedRowShape(state.unit) });
  });
}
