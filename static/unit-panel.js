// The unit report (#unit-panel, main column): GET /api/models/{m}/units/{l}/{s}/{u} for the selected unit,
// debounced: its best hypotheses, gate saturation, and top / bottom examples (unit-examples.js).
// Test hooks: data-ready / data-key on #unit-panel.

import { isAbort } from "./ndjson.js";
import { el, pretty, metricLabel } from "./cells-dom.js";
import { sel, unitKey } from "./cells-state.js";
import { hasAnalysis, hypothesesMap, fetchUnitReport, cachedUnitReport, rememberUnitReport } from "./cells-api.js";
import { signMark, signWords } from "./cell-rows.js";
import { exampleNorm, exampleBlock } from "./unit-examples.js";
import { LEFT_SAT, RIGHT_SAT } from "./saturation.js";

const SCORES_SHOWN = 5; // hypotheses in the unit panel
const UNIT_DEBOUNCE_MS = 300;

const ui = {};
let unitTimer = 0;
let unitController = null;
let report = null; // the unit report shown

export function buildUnitPanel(panel) {
  const head = el("div", "panel-head");
  ui.unitTitle = el("span", "panel-title", "Unit report");
  ui.unitHint = el("span", "hint", "on the model's held-out sample, fixed colour scale");
  head.append(ui.unitTitle, ui.unitHint);
  ui.unitError = el("p", "cells-error");
  ui.unitError.hidden = true;
  ui.unitBody = el("div", "ur-body");
  panel.replaceChildren(head, ui.unitError, ui.unitBody);
  panel.dataset.ready = "0";
  panel.hidden = true;
  ui.unitPanel = panel;
}

/** Draws the report shown again (the colour scale or the hypotheses' descriptions changed). */
export function redrawUnitReport() {
  if (report) renderUnitReport(report);
}

export function hideUnitPanel() {
  clearTimeout(unitTimer);
  if (unitController) unitController.abort();
  ui.unitPanel.hidden = true;
  ui.unitPanel.dataset.ready = "0";
  report = null;
}

export function scheduleUnitReport(delay = UNIT_DEBOUNCE_MS) {
  clearTimeout(unitTimer);
  const want = { ...sel };
  unitTimer = setTimeout(() => loadUnitReport(want), delay);
}

async function loadUnitReport(want) {
  if (!(await hasAnalysis(want.model)) || want.model !== sel.model) {
    if (want.model === sel.model) hideUnitPanel();
    return;
  }
  const key = unitKey(want);
  if (unitKey(sel) !== key) return;
  ui.unitPanel.hidden = false;
  ui.unitPanel.dataset.ready = "0";
  ui.unitPanel.dataset.key = key;
  ui.unitTitle.textContent = `Unit report — layer ${want.layer} · ${want.state} · unit ${want.unit}`;
  let data = cachedUnitReport(key);
  if (!data) {
    if (unitController) unitController.abort();
    const controller = new AbortController();
    unitController = controller;
    ui.unitBody.classList.add("stale");
    try {
      data = await fetchUnitReport(want, controller.signal);
    } catch (error) {
      if (isAbort(error) || controller !== unitController) return;
      ui.unitBody.classList.remove("stale");
      ui.unitBody.replaceChildren();
      ui.unitError.textContent = `could not load the unit report: ${error.message}`;
      ui.unitError.hidden = false;
      return;
    } finally {
      if (controller === unitController) unitController = null;
    }
    rememberUnitReport(key, data);
    if (unitKey(sel) !== key) return;
  }
  report = data;
  renderUnitReport(data);
  showingReport();
}

/** The report shown is the selected unit's: the panel is ready. */
function showingReport() {
  ui.unitError.hidden = true;
  ui.unitBody.classList.remove("stale");
  ui.unitPanel.dataset.key = unitKey(report);
  ui.unitPanel.dataset.ready = "1";
  ui.unitTitle.textContent = `Unit report — layer ${report.layer} · ${report.state} · unit ${report.unit}`;
}

/** After a selection change in the same model: the report is pending until the debounced fetch. */
export function followUnit() {
  if (report && unitKey(report) === unitKey(sel) && !ui.unitPanel.hidden) {
    clearTimeout(unitTimer); // back to the unit shown before the debounce ran out
    if (unitController) unitController.abort();
    showingReport();
    return;
  }
  if (!ui.unitPanel.hidden) {
    ui.unitPanel.dataset.ready = "0";
    ui.unitBody.classList.add("stale");
  }
  scheduleUnitReport();
}

function renderUnitReport(rep) {
  const hyps = hypothesesMap;
  const top = el("div", "ur-top");

  const scores = el("div", "ur-scores");
  scores.append(el("div", "cells-sub", "Best-matching hypotheses"));
  const list = el("ol", "ur-score-list");
  for (const s of rep.scores.slice(0, SCORES_SHOWN)) {
    const li = el("li");
    const name = el("span", "ur-hyp", pretty(s.hypothesis));
    const h = hyps.get(s.hypothesis);
    if (h) name.title = h.description;
    const strength = s.metric === "auroc" ? Math.max(0, (s.score - 0.5) * 2) : Math.max(0, s.score);
    const bar = el("span", "bar");
    const fill = el("span", "fill");
    fill.style.width = `${Math.max(2, Math.round(strength * 100))}%`;
    bar.append(fill);
    bar.title = s.metric === "auroc" ? "2 × (AUROC − 0.5)" : "|Pearson r|";
    li.append(name, bar, el("span", "cell-score", `${metricLabel(s.metric)} ${s.score.toFixed(2)}`), signMark(s.sign));
    li.title = `${metricLabel(s.metric)} ${s.score.toFixed(4)}: ${signWords(s)}`;
    list.append(li);
  }
  if (!rep.scores.length) list.append(el("li", "hint", "no hypothesis varies on the sample"));
  scores.append(list);
  top.append(scores);

  if (rep.saturation) {
    const sat = el("div", "ur-sat");
    sat.append(el("div", "cells-sub", "Saturation"));
    const left = rep.saturation.left;
    const right = rep.saturation.right;
    const bar = el("div", "sat-bar");
    bar.title = "share of the sample's characters: closed (< 0.1) · in between · open (> 0.9)";
    for (const [cls, share] of [["l", left], ["m", Math.max(0, 1 - left - right)], ["r", right]]) {
      const seg = el("span", `seg ${cls}`);
      seg.style.width = `${(share * 100).toFixed(1)}%`;
      bar.append(seg);
    }
    const legend = el("div", "sat-legend");
    legend.append(el("span", "", `left-saturated (< ${LEFT_SAT}): ${pct(left)}`),
      el("span", "", `right-saturated (> ${RIGHT_SAT}): ${pct(right)}`));
    sat.append(bar, legend);
    top.append(sat);
  }

  const norm = exampleNorm(rep);
  ui.unitBody.replaceChildren(top,
    exampleBlock(rep, "Most positive", "top", rep.top, norm),
    exampleBlock(rep, "Most negative", "bottom", rep.bottom, norm));
}

function pct(x) {
  return `${(x * 100).toFixed(x < 0.1 && x > 0 ? 1 : 0)}%`;
}
