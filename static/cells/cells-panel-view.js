// The found cells (#cells-list in #cells-panel, side column): GET /api/models/{m}/cells, per hypothesis
// its best units and best linear probe. Hypotheses with a cell come first, strongest first; the others
// are folded under a <details>. The rank form below them is rank-view.js.
// Test hook: data-state on #cells-panel ("loading", "ready", "none", "error").

import { appStore } from "../store/app.js";
import { touches } from "../store/writable.js";
import { listHypotheses } from "../api/client.js";
import { byId, element } from "../lib/dom.js";
import { groupByHypothesis } from "../lib/found-cells.js";
import { metricLabel, pretty } from "../lib/names.js";
import { bindRowLinks, cellGroup, markCurrentRows } from "./cell-rows.js";
import { loadAnalysis } from "./stored.js";

/** "all units of L1 c together: |r| 0.90 (best one alone 0.60)": is the hypothesis carried by one unit or many? */
function probeLine(probe) {
  const line = element("p", "cells-probe",
    `all units of L${probe.layer} ${probe.state} together: ${metricLabel(probe.metric)} ${probe.score.toFixed(2)} `
    + `(best one alone ${probe.best_unit_score.toFixed(2)})`);
  line.title = "Linear probe: a ridge regression from every unit of this layer and state, fitted on the first half "
    + "of the held-out sample and scored on the second half, beside the best single unit on the same halves. "
    + "Much higher than the best unit: the model carries the hypothesis spread over many units.";
  return line;
}

export function mountCellsPanel() {
  const panel = byId("cells-panel");
  const hint = element("span", "hint", "");
  const head = element("div", "panel-head");
  head.append(element("span", "panel-title", "Found cells"), hint);
  const note = element("p", "cells-note");
  note.id = "cells-note";
  note.hidden = true;
  const list = element("div", "cells-list");
  list.id = "cells-list";
  panel.replaceChildren(head, note, list);
  panel.hidden = false;
  panel.dataset.state = "loading";
  bindRowLinks(panel);

  async function show(model) {
    panel.dataset.state = "loading";
    panel.dataset.model = model;
    hint.textContent = "loading…";
    list.replaceChildren();
    const [entry, hypotheses] = await Promise.all([loadAnalysis(model),
      listHypotheses().catch(() => [])]);
    if (appStore.get().model !== model) return;
    note.hidden = entry.status === "ok";
    note.classList.toggle("bad", entry.status === "error");
    if (entry.status === "none") {
      hint.textContent = "";
      note.replaceChildren(element("strong", "", "No stored cell analysis. "), `${entry.detail}.`,
        element("br"), "You can still rank this model's units on your own text below.");
    } else if (entry.status === "error") {
      hint.textContent = "";
      note.textContent = `could not load the stored ranking: ${entry.detail}`;
    } else {
      list.replaceChildren(...groups(model, entry, new Map(hypotheses.map((h) => [h.name, h]))));
    }
    panel.dataset.state = entry.status === "ok" ? "ready" : entry.status;
  }

  function groups(model, entry, described) {
    const { found, rest } = groupByHypothesis(entry.cells);
    hint.textContent = found.length || rest.length ? "best units on the held-out sample" : "the stored ranking is empty";
    const bestProbe = new Map(); // hypothesis -> its best probe (stored best first)
    for (const probe of entry.probes || []) if (!bestProbe.has(probe.hypothesis)) bestProbe.set(probe.hypothesis, probe);
    const selection = appStore.get();
    const group = ({ name, units }) => {
      const h = described.get(name);
      const node = cellGroup({ model, title: pretty(name), description: h ? h.description : "", cells: units, name,
        selection });
      if (bestProbe.has(name)) node.append(probeLine(bestProbe.get(name)));
      return node;
    };
    const out = found.map(group);
    if (!found.length) out.push(element("p", "hint cells-none", "No hypothesis has a cell of its own on the sample."));
    if (rest.length) {
      const fold = element("details", "cells-fold");
      const summary = element("summary", "cells-fold-title",
        `${rest.length} hypothes${rest.length === 1 ? "is" : "es"} without a cell`);
      summary.title = "No single unit reaches AUROC 0.9 or |r| 0.7 for these; their best units are listed anyway.";
      fold.append(summary, ...rest.map(group));
      out.push(fold);
    }
    return out;
  }

  appStore.subscribe((state, changed) => {
    if (changed.has("model") && state.model) show(state.model);
    else if (touches(changed, "layer", "state", "unit")) markCurrentRows(list, state);
  });
}
