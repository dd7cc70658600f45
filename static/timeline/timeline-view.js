// The training timeline, for models trained with snapshots: a step slider (the text, tooltip and
// sample are recomputed with the weights of that step), a play button, and a chart of validation
// bits/char and each chosen hypothesis's best and final-unit score over the steps. The slider only
// sets the store's `snapshot`; the streams refetch from there.

import { appStore, currentModel } from "../store/app.js";
import { modelTimeline } from "../api/client.js";
import { byId } from "../lib/dom.js";
import { describeSnapshot, emergenceSentence, orderedEntries, plottedStep, positionOf, stepAt } from "../lib/timeline.js";
import { PLOT_CONFIG, PLOT_FONT, firstPoint, plotly } from "../lib/plotly.js";

const PLAY_INTERVAL_MS = 1400; // long enough for a short text to recolour between steps
const SHOWN_AT_FIRST = 2; // hypotheses plotted before the user picks others

export function mountTimeline() {
  const panel = byId("timeline-panel");
  const slider = byId("snapshot-slider");
  const label = byId("snapshot-label");
  const play = byId("snapshot-play");
  const picks = byId("timeline-hypotheses");
  const chart = byId("timeline-chart");
  const summary = byId("timeline-summary");
  let timeline = null; // of the selected model, once fetched
  let steps = [];
  let chosen = new Set();
  let playing = 0;

  const setStep = (step) => appStore.set({ snapshot: step });

  slider.addEventListener("input", () => setStep(stepAt(steps, Number(slider.value))));
  play.addEventListener("click", () => (playing ? stop() : start()));

  function start() {
    if (positionOf(steps, appStore.get().snapshot) === steps.length - 1) setStep(steps[0]);
    play.textContent = "Pause";
    play.setAttribute("aria-pressed", "true");
    playing = setInterval(() => {
      const next = positionOf(steps, appStore.get().snapshot) + 1;
      setStep(stepAt(steps, next));
      if (next >= steps.length - 1) stop();
    }, PLAY_INTERVAL_MS);
  }

  function stop() {
    clearInterval(playing);
    playing = 0;
    play.textContent = "Play";
    play.setAttribute("aria-pressed", "false");
  }

  appStore.subscribe(async (state, changed) => {
    if (changed.has("model") || changed.has("models")) {
      stop();
      const model = currentModel(state);
      const has = !!(model && model.snapshots && model.snapshots.length);
      panel.hidden = !has;
      timeline = null;
      if (!has) return;
      steps = model.snapshots;
      slider.max = String(steps.length - 1);
      showStep(state.snapshot);
      try {
        const fetched = await modelTimeline(model.name);
        if (appStore.get().model !== model.name) return;
        timeline = fetched;
        chosen = new Set(orderedEntries(timeline).slice(0, SHOWN_AT_FIRST).map((e) => e.name));
        renderPicks();
        renderChart();
      } catch (error) {
        summary.textContent = `no timeline: ${error.message}`;
      }
    } else if (changed.has("snapshot")) {
      showStep(state.snapshot);
      renderChart();
    }
  });

  function showStep(step) {
    const position = positionOf(steps, step);
    slider.value = String(position);
    const entry = timeline && timeline.snapshots[position];
    const text = entry ? describeSnapshot(entry, position === steps.length - 1)
      : (step === null ? "final model" : `step ${step}`);
    label.textContent = text;
    slider.setAttribute("aria-valuetext", text);
  }

  function renderPicks() {
    picks.replaceChildren(...orderedEntries(timeline).map((entry) => {
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = chosen.has(entry.name);
      box.dataset.hypothesis = entry.name;
      box.addEventListener("change", () => {
        if (box.checked) chosen.add(entry.name);
        else chosen.delete(entry.name);
        renderChart();
      });
      const pick = document.createElement("label");
      pick.className = "check";
      pick.append(box, ` ${entry.name}`);
      return pick;
    }));
  }

  function renderChart() {
    if (!timeline) return;
    const entries = orderedEntries(timeline).filter((e) => chosen.has(e.name));
    summary.replaceChildren(...entries.map((e) => {
      const line = document.createElement("p");
      line.textContent = emergenceSentence(e, timeline.thresholds);
      return line;
    }));
    const Plotly = plotly();
    if (!Plotly) return;
    const x = timeline.snapshots.map((s) => plottedStep(s.step));
    const hover = timeline.snapshots.map((s) => `step ${s.step}`);
    const traces = [{ x, y: timeline.snapshots.map((s) => s.val_bpc), name: "validation bits/char", yaxis: "y2",
      mode: "lines+markers", line: { color: "#6b7280", dash: "dot" }, text: hover, hovertemplate: "%{text}: %{y:.3f} bits/char" }];
    for (const e of entries) {
      traces.push({ x, y: e.best.map((b) => b.score), name: `${e.name}: best unit`, mode: "lines+markers", text: hover,
        customdata: e.best.map((b) => `layers.${b.layer}.${b.state}[${b.unit}]`),
        hovertemplate: "%{text}: %{y:.3f} (%{customdata})" });
      traces.push({ x, y: e.final_unit_score, name: `${e.name}: final unit`, mode: "lines", line: { dash: "dash" },
        text: hover, hovertemplate: "%{text}: %{y:.3f}" });
    }
    const position = positionOf(steps, appStore.get().snapshot);
    const at = x[position];
    const layout = { font: PLOT_FONT, margin: { l: 48, r: 56, t: 8, b: 36 }, height: 280, showlegend: true,
      legend: { orientation: "h", y: -0.25 }, xaxis: { type: "log", title: { text: "training step" } },
      yaxis: { title: { text: "score (AUROC or r)" }, range: [0, 1.02] },
      yaxis2: { title: { text: "bits/char" }, overlaying: "y", side: "right", showgrid: false },
      shapes: [{ type: "line", x0: at, x1: at, yref: "paper", y0: 0, y1: 1, line: { color: "#d62d26", width: 1 } }] };
    Plotly.react(chart, traces, layout, PLOT_CONFIG);
    if (!chart.dataset.bound) {
      chart.dataset.bound = "1";
      chart.on("plotly_click", (event) => {
        const point = firstPoint(event);
        if (point) setStep(stepAt(steps, point.pointIndex));
      });
    }
  }
}
