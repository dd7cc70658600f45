// The unit report (#unit-panel, main column): GET /api/models/{m}/units/{l}/{s}/{u} for the selected
// unit once the selection rests: its best hypotheses, gate saturation, direct output effect (top
// layer's h) and top / bottom examples.
// Test hooks: data-ready ("1" once the report shown is the selected unit's) and data-key.

import { appStore } from "../store/app.js";
import { touches } from "../store/writable.js";
import { listHypotheses } from "../api/client.js";
import { isAbort } from "../api/http.js";
import { byId, element } from "../lib/dom.js";
import { fmtShare } from "../lib/format.js";
import { strength } from "../lib/found-cells.js";
import { metricLabel, pretty, selectionTitle } from "../lib/names.js";
import { signMark, signWords } from "./cell-rows.js";
import { exampleBlock, exampleNorm } from "./unit-examples.js";
import { directBlock } from "./unit-direct.js";
import { LEFT_SAT, RIGHT_SAT } from "../lib/saturation.js";
import { cachedUnitReport, hasAnalysis, loadUnitReport, unitKey } from "./stored.js";

const SCORES_SHOWN = 5;
const REST_MS = 300; // a sweep through units asks for the report where it stops

export function mountUnitReport() {
  const panel = byId("unit-panel");
  const title = element("span", "panel-title", "Unit report");
  const head = element("div", "panel-head");
  head.append(title, element("span", "hint", "on the model's held-out sample, fixed colour scale"));
  const error = element("p", "cells-error");
  error.hidden = true;
  const body = element("div", "ur-body");
  panel.replaceChildren(head, error, body);
  panel.dataset.ready = "0";
  panel.hidden = true;
  let described = new Map();
  let report = null; // the report shown
  let timer = 0;
  let controller = null;

  function hide() {
    clearTimeout(timer);
    if (controller) controller.abort();
    panel.hidden = true;
    panel.dataset.ready = "0";
    report = null;
  }

  function schedule(delay) {
    clearTimeout(timer);
    const want = { ...appStore.get() };
    timer = setTimeout(() => load(want), delay);
  }

  const selected = () => unitKey(appStore.get());

  async function load(want) {
    if (!(await hasAnalysis(want.model))) {
      if (want.model === appStore.get().model) hide();
      return;
    }
    const key = unitKey(want);
    if (selected() !== key) return;
    panel.hidden = false;
    panel.dataset.ready = "0";
    panel.dataset.key = key;
    title.textContent = `Unit report — ${selectionTitle(want)}`;
    let data = cachedUnitReport(want);
    if (!data) {
      if (controller) controller.abort();
      const mine = new AbortController();
      controller = mine;
      body.classList.add("stale");
      try {
        data = await loadUnitReport(want, mine.signal);
      } catch (failure) {
        if (isAbort(failure) || controller !== mine) return;
        body.classList.remove("stale");
        body.replaceChildren();
        error.textContent = `could not load the unit report: ${failure.message}`;
        error.hidden = false;
        return;
      } finally {
        if (controller === mine) controller = null;
      }
      if (selected() !== key) return;
    }
    report = data;
    render();
    showing();
  }

  /** The report shown is the selected unit's: the panel is ready. */
  function showing() {
    error.hidden = true;
    body.classList.remove("stale");
    panel.dataset.key = unitKey(report);
    panel.dataset.ready = "1";
    title.textContent = `Unit report — ${selectionTitle(report)}`;
  }

  function render() {
    if (!report) return;
    const top = element("div", "ur-top");
    top.append(scoreList(report, described));
    if (report.saturation) top.append(saturationBar(report.saturation));
    if (report.direct_effect) top.append(directBlock(report.direct_effect));
    const norm = exampleNorm(report, appStore.get().autoContrast);
    body.replaceChildren(top, exampleBlock(report, "Most positive", "top", report.top, norm),
      exampleBlock(report, "Most negative", "bottom", report.bottom, norm));
  }

  listHypotheses().then((list) => {
    described = new Map(list.map((h) => [h.name, h]));
    render();
  }, () => {});

  appStore.subscribe((state, changed) => {
    if (changed.has("model")) {
      hide();
      if (state.model) schedule(0);
    } else if (touches(changed, "layer", "state", "unit")) {
      if (report && unitKey(report) === selected() && !panel.hidden) {
        clearTimeout(timer); // back to the unit shown before the sweep came to rest
        if (controller) controller.abort();
        showing();
      } else {
        if (!panel.hidden) {
          panel.dataset.ready = "0";
          body.classList.add("stale");
        }
        schedule(REST_MS);
      }
    }
    if (changed.has("autoContrast")) render();
  });
}

function scoreList(report, described) {
  const scores = element("div", "ur-scores");
  const list = element("ol", "ur-score-list");
  for (const s of report.scores.slice(0, SCORES_SHOWN)) {
    const name = element("span", "ur-hyp", pretty(s.hypothesis));
    const h = described.get(s.hypothesis);
    if (h) name.title = h.description;
    const fill = element("span", "fill");
    fill.style.width = `${Math.max(2, Math.round(strength(s) * 100))}%`;
    const bar = element("span", "bar");
    bar.append(fill);
    bar.title = s.metric === "auroc" ? "2 × (AUROC − 0.5)" : "|Pearson r|";
    const li = element("li");
    li.append(name, bar, element("span", "cell-score", `${metricLabel(s.metric)} ${s.score.toFixed(2)}`), signMark(s.sign));
    li.title = `${metricLabel(s.metric)} ${s.score.toFixed(4)}: ${signWords(s)}`;
    list.append(li);
  }
  if (!report.scores.length) list.append(element("li", "hint", "no hypothesis varies on the sample"));
  scores.append(element("div", "cells-sub", "Best-matching hypotheses"), list);
  return scores;
}

function saturationBar({ left, right }) {
  const sat = element("div", "ur-sat");
  const bar = element("div", "sat-bar");
  bar.title = "share of the sample's characters: closed (< 0.1) · in between · open (> 0.9)";
  for (const [cls, share] of [["l", left], ["m", Math.max(0, 1 - left - right)], ["r", right]]) {
    const segment = element("span", `seg ${cls}`);
    segment.style.width = `${(share * 100).toFixed(1)}%`;
    bar.append(segment);
  }
  const legend = element("div", "sat-legend");
  legend.append(element("span", "", `left-saturated (< ${LEFT_SAT}): ${fmtShare(left)}`),
    element("span", "", `right-saturated (> ${RIGHT_SAT}): ${fmtShare(right)}`));
  sat.append(element("div", "cells-sub", "Saturation"), bar, legend);
  return sat;
}
