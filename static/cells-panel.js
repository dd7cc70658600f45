// The cells panel (#cells-panel, side column): GET /api/models/{m}/cells, per hypothesis its best units
// (3 shown, "more" for 10) and its best linear probe (GET /api/models/{m}/probes), above the form that
// ranks every unit now (cells-rank.js).
// Test hook: data-state on #cells-panel.

import { el, metricLabel, pretty } from "./cells-dom.js";
import { modelToken } from "./cells-state.js";
import { loadStored } from "./cells-api.js";
import { cellGroup, bindRowLinks } from "./cell-rows.js";
import { buildRankForm, listHypotheses, fillHypothesisSelect, requireMyText } from "./cells-rank.js";

const ui = {};

export function buildCellsPanel(panel) {
  const head = el("div", "panel-head");
  head.append(el("span", "panel-title", "Found cells"));
  ui.cellsHint = el("span", "hint", "");
  head.append(ui.cellsHint);
  ui.cellsNote = el("p", "cells-note");
  ui.cellsNote.id = "cells-note";
  ui.cellsNote.hidden = true;
  ui.cellsList = el("div", "cells-list");
  ui.cellsList.id = "cells-list";
  const form = buildRankForm(panel);

  panel.replaceChildren(head, ui.cellsNote, ui.cellsList, form);
  panel.hidden = false;
  panel.dataset.state = "loading";
  ui.cellsPanel = panel;
  bindRowLinks(panel);
}

/** "all units of L1 c together: |r| 0.90 (best one alone 0.60)": is the hypothesis carried by one unit or many? */
function probeLine(probe) {
  const line = el("p", "cells-probe",
    `all units of L${probe.layer} ${probe.state} together: ${metricLabel(probe.metric)} ${probe.score.toFixed(2)} `
    + `(best one alone ${probe.best_unit_score.toFixed(2)})`);
  line.title = "Linear probe: a ridge regression from every unit of this layer and state, fitted on the first half "
    + "of the held-out sample and scored on the second half, beside the best single unit on the same halves. "
    + "Much higher than the best unit: the model carries the hypothesis spread over many units.";
  return line;
}

export async function showStored(model, token) {
  ui.cellsPanel.dataset.state = "loading";
  ui.cellsPanel.dataset.model = model;
  ui.cellsHint.textContent = "loading…";
  ui.cellsList.replaceChildren();
  const [entry, hyps] = await Promise.all([loadStored(model), listHypotheses()]);
  if (token !== modelToken) return;
  fillHypothesisSelect(hyps);
  ui.cellsNote.hidden = entry.status === "ok";
  ui.cellsNote.classList.toggle("bad", entry.status === "error");
  requireMyText(entry.status !== "ok");
  if (entry.status === "none") {
    ui.cellsHint.textContent = "";
    ui.cellsNote.replaceChildren(el("strong", "", "No stored cell analysis. "), `${entry.detail}.`,
      el("br"), "You can still rank this model's units on your own text below.");
  } else if (entry.status === "error") {
    ui.cellsHint.textContent = "";
    ui.cellsNote.textContent = `could not load the stored ranking: ${entry.detail}`;
  } else {
    const groups = new Map();
    for (const cell of entry.cells) {
      if (!groups.has(cell.hypothesis)) groups.set(cell.hypothesis, []);
      groups.get(cell.hypothesis).push(cell);
    }
    ui.cellsHint.textContent = groups.size ? "best units on the held-out sample" : "the stored ranking is empty";
    const frag = document.createDocumentFragment();
    const bestProbe = new Map(); // hypothesis -> its best probe (stored best first)
    for (const probe of entry.probes || []) if (!bestProbe.has(probe.hypothesis)) bestProbe.set(probe.hypothesis, probe);
    for (const [name, cells] of groups) {
      const h = hyps.get(name);
      const group = cellGroup(model, pretty(name), h ? h.description : "", cells, name);
      if (bestProbe.has(name)) group.append(probeLine(bestProbe.get(name)));
      frag.append(group);
    }
    ui.cellsList.replaceChildren(frag);
  }
  ui.cellsPanel.dataset.state = entry.status === "ok" ? "ready" : entry.status;
}
