// How far back each model remembers (#memory-details inside the attribution panel): the shipped models'
// memory-reach curves side by side on log scales, fetched when the user first opens the box (a model
// without a stored memory.json is left out and named).

import { appStore } from "../store/app.js";
import { memoryReach } from "../api/client.js";
import { reachTraces } from "../lib/attribution.js";
import { byId, element } from "../lib/dom.js";
import { PLOT_CONFIG, PLOT_FONT, plotly } from "../lib/plotly.js";

const NOTE = "Left: the median change (solid; dotted: upper quartile) in bits of a prediction when the character k "
  + "positions before the predicted one is occluded, over random positions of each model's held-out sample: most "
  + "predictions lean on the last few characters, whatever the architecture. Right: the median norm of the gradient "
  + "of log2 p with respect to the top layer's h k positions back: a vanilla RNN's vanishes geometrically, an LSTM's "
  + "levels off. Click a closing quote above to see one long dependence.";

export function mountMemoryReach() {
  const panel = byId("attribution-panel");
  const details = element("details", "attr-memory");
  details.id = "memory-details";
  const summary = element("summary", "panel-title", "How far back each model remembers");
  const chart = element("div", "chart memory-chart");
  chart.id = "memory-chart";
  const status = element("p", "hint");
  status.id = "memory-status";
  details.append(summary, chart, element("p", "legend-note", NOTE), status);
  panel.append(details);
  let started = false;

  details.addEventListener("toggle", () => {
    if (details.open && !started) {
      started = true;
      load(appStore.get().models);
    }
  });

  async function load(models) {
    status.textContent = "loading…";
    const answers = await Promise.all(models.map((m) => memoryReach(m.name).catch(() => null)));
    const memories = answers.filter(Boolean);
    const missing = models.filter((_, i) => !answers[i]).map((m) => m.name);
    status.textContent = missing.length ? `no stored memory reach for ${missing.join(", ")} (python -m app.cells.memory)` : "";
    chart.dataset.models = String(memories.length);
    const Plotly = plotly();
    if (!Plotly || !memories.length) return;
    const axis = (title, domain) => ({ title: { text: title }, domain, zeroline: false });
    Plotly.react(chart, reachTraces(memories), {
      font: PLOT_FONT, margin: { l: 60, r: 10, t: 10, b: 40 }, height: 300, hovermode: "closest",
      legend: { orientation: "h", y: -0.25 },
      xaxis: axis("characters back (k)", [0, 0.46]), xaxis2: { ...axis("characters back (k)", [0.56, 1]), anchor: "y2" },
      yaxis: { type: "log", title: { text: "|Δ bits| when occluded" } },
      yaxis2: { type: "log", anchor: "x2", title: { text: "‖∂ log2 p / ∂h‖" } },
    }, PLOT_CONFIG);
    chart.dataset.ready = "1";
  }
}
