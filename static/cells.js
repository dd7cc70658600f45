// Cell Explorer: the "found cells" panels, on top of the explorer page (window.cellExplorer).
//
// Structure
//   cells panel   #cells-panel (side column)       GET /api/models/{m}/cells: per hypothesis its best units
//                                                  (3 shown, "more" for 10); a form to rank every unit now
//                                                  by a regex or a built-in hypothesis (POST .../cells)
//   unit panel    #unit-panel (main column)        GET /api/models/{m}/units/{l}/{s}/{u} for the selected unit:
//                                                  best hypotheses, gate saturation, top/bottom examples
//   saturation    #saturation-panel (side column)  GET /api/models/{m}/saturation: Plotly scatter of every
//                                                  sigmoid gate unit (Karpathy et al. 2015, Fig. 3)
//   onSelection()                                  follows the explorer's selection (cellexplorer:selection)
//
// Every unit row is a link with the unit in the query string (the explorer's own URL format),
// so it can be opened in a new tab or shared; a plain click selects it in place via selectUnit.
// Server and user strings reach the page only through textContent / createTextNode.
// Test hooks: data-state on #cells-panel and #cells-rank-results, data-ready / data-key on
// #unit-panel and #saturation-panel.

import { getJson, postJson, isAbort } from "./ndjson.js";
import { POS_RGB, NEG_RGB, colourFor, paint, scaleFor } from "./colors.js";

const TOP_SHOWN = 3; // unit rows shown per hypothesis before "more"
const LIST_LIMIT = 10; // unit rows per hypothesis (stored and on the fly)
const SCORES_SHOWN = 5; // hypotheses in the unit panel
const EXAMPLES_SHOWN = 8; // examples per side before "show all"
const UNIT_DEBOUNCE_MS = 300;
const UNIT_CACHE_SIZE = 64;
const LEFT_SAT = 0.1;
const RIGHT_SAT = 0.9;
const GATED = new Set(["lstm", "gru"]);
const LAYER_COLOURS = ["#0f9d76", "#4f46e5", "#d97706", "#db2777", "#0284c7", "#7c3aed"];
const GATE_SYMBOLS = { "gates.i": "circle", "gates.f": "square", "gates.o": "diamond",
  "gates.r": "triangle-up", "gates.z": "x" };
const GATE_NAMES = { "gates.i": "input", "gates.f": "forget", "gates.o": "output", "gates.r": "reset",
  "gates.z": "update" };
const PLOT_FONT = { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 11, color: "#374151" };
const PLOT_CONFIG = { displaylogo: false, responsive: true,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toImage"] };

const explorer = window.cellExplorer;
const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const pretty = (name) => name.replace(/_/g, " ");
const metricLabel = (metric) => (metric === "auroc" ? "AUROC" : "|r|");
const unitKey = (s) => `${s.model}/${s.layer}/${s.state}/${s.unit}`;

/* ------------------------------------------------------------------ state */

let sel = { model: null }; // the explorer's selection, as last notified
const stored = new Map(); // model -> Promise<{status: "ok"|"none"|"error", cells?, detail?}>
const saturations = new Map(); // model -> Promise<saturation response>
const unitReports = new Map(); // unitKey -> report (most recent last)
let hypotheses = null; // Promise<Map name -> {name, kind, description}>
let hypothesesMap = new Map(); // the same, once loaded
let modelToken = 0;
let unitTimer = 0;
let unitController = null;
let rankController = null;
let report = null; // the unit report shown
let satDrawn = false;
let satTraces = []; // per trace index: {layer, gate} (the last trace is the selection ring)
let satData = null; // the saturation response drawn

/* ------------------------------------------------------------------ DOM */

const ui = {};

function buildCellsPanel(panel) {
  const head = el("div", "panel-head");
  head.append(el("span", "panel-title", "Found cells"));
  ui.cellsHint = el("span", "hint", "");
  head.append(ui.cellsHint);
  ui.cellsNote = el("p", "cells-note");
  ui.cellsNote.id = "cells-note";
  ui.cellsNote.hidden = true;
  ui.cellsList = el("div", "cells-list");
  ui.cellsList.id = "cells-list";

  const form = el("form", "cells-rank");
  form.id = "cells-rank";
  form.autocomplete = "off";
  form.append(el("div", "cells-sub", "Rank every unit now"));
  const regexLabel = el("label", "cells-label", "by a regular expression");
  regexLabel.htmlFor = "cells-regex";
  ui.regex = el("input");
  ui.regex.type = "text";
  ui.regex.id = "cells-regex";
  ui.regex.placeholder = 'e.g. "[^"]*" or \\bthe\\b';
  ui.regex.spellcheck = false;
  ui.regex.setAttribute("autocapitalize", "off");
  ui.regex.title = "Characters inside a match count as 1, all others as 0";
  ui.regexGo = el("button", "cells-btn primary", "Rank");
  ui.regexGo.type = "submit";
  ui.regexGo.id = "cells-regex-go";
  const regexRow = el("div", "cells-row");
  regexRow.append(ui.regex, ui.regexGo);
  const checkLabel = el("label", "check cells-check");
  ui.myText = el("input");
  ui.myText.type = "checkbox";
  ui.myText.id = "cells-mytext";
  checkLabel.append(ui.myText, " use my text");
  ui.myTextHint = el("span", "hint", "otherwise the model's sample");
  const checkRow = el("div", "cells-row cells-checkrow");
  checkRow.append(checkLabel, ui.myTextHint);

  const hypLabel = el("label", "cells-label", "by a built-in hypothesis, on my text");
  hypLabel.htmlFor = "cells-hyp";
  ui.hyp = el("select");
  ui.hyp.id = "cells-hyp";
  ui.hypGo = el("button", "cells-btn", "Rank");
  ui.hypGo.type = "button";
  ui.hypGo.id = "cells-hyp-go";
  ui.hypGo.title = "Rank every unit against this hypothesis on the text in the Text box";
  const hypRow = el("div", "cells-row");
  hypRow.append(ui.hyp, ui.hypGo);

  ui.busy = el("div", "cells-busy");
  ui.busy.id = "cells-busy";
  ui.busy.hidden = true;
  ui.busyText = el("span", "cells-spinner", "ranking…");
  ui.cancel = el("button", "cells-btn", "Cancel");
  ui.cancel.type = "button";
  ui.cancel.id = "cells-cancel";
  ui.busy.append(ui.busyText, ui.cancel);
  ui.rankError = el("p", "cells-error");
  ui.rankError.id = "cells-rank-error";
  ui.rankError.setAttribute("role", "alert");
  ui.rankError.hidden = true;
  ui.rankResults = el("div", "cells-results");
  ui.rankResults.id = "cells-rank-results";
  ui.rankResults.dataset.state = "empty";
  ui.rankResults.setAttribute("aria-live", "polite");
  form.append(regexLabel, regexRow, checkRow, hypLabel, hypRow, ui.busy, ui.rankError, ui.rankResults);

  panel.replaceChildren(head, ui.cellsNote, ui.cellsList, form);
  panel.hidden = false;
  panel.dataset.state = "loading";
  ui.cellsPanel = panel;
  ui.rankForm = form;
}

function buildUnitPanel(panel) {
  const head = el("div", "panel-head");
  ui.unitTitle = el("span", "panel-title", "Unit report");
  ui.unitHint = el("span", "hint", "on the model's held-out sample, fixed colour scale");
  head.append(ui.unitTitle, ui.unitHint);
  ui.unitError = el("p", "cells-error");
  ui.unitError.hidden = true;
  ui.unitBody = el("div", "ur-body");
  panel.replaceChildren(head, ui.unitError, ui.unitBody);
  panel.dataset.ready = "0";
  ui.unitPanel = panel;
}

function buildSaturationPanel(panel) {
  const head = el("div", "panel-head");
  head.append(el("span", "panel-title", "Gate saturation"),
    el("span", "hint", "click a point to select that gate unit"));
  ui.satChart = el("div", "chart sat-chart");
  ui.satChart.id = "saturation-chart";
  ui.satNote = el("p", "sat-note");
  panel.replaceChildren(head, ui.satChart, ui.satNote);
  panel.dataset.ready = "0";
  ui.satPanel = panel;
}

/* ------------------------------------------------------------------ unit rows (links) */

function hrefFor(model, layer, state, unit) {
  const params = new URLSearchParams(location.search);
  params.set("model", model);
  params.set("layer", String(layer));
  params.set("state", state);
  params.set("unit", String(unit));
  return `${location.pathname}?${params.toString()}`;
}

function signMark(sign) {
  // the spaces keep the row's text readable when copied; grid items trim them on screen
  return el("span", sign > 0 ? "cell-sign pos" : "cell-sign neg", sign > 0 ? " ▲" : " ▼");
}

function signWords(cell) {
  if (cell.metric === "auroc") {
    return `the unit is ${cell.sign > 0 ? "high" : "low"} where the hypothesis holds`;
  }
  return cell.sign > 0 ? "the unit rises with the hypothesis" : "the unit falls as the hypothesis rises";
}

/** One unit as a link row: "L1 c 211 · AUROC 0.99 ▲". */
function cellRow(model, cell) {
  const a = el("a", "cell-row");
  a.href = hrefFor(model, cell.layer, cell.state, cell.unit);
  a.dataset.model = model;
  a.dataset.layer = String(cell.layer);
  a.dataset.state = cell.state;
  a.dataset.unit = String(cell.unit);
  a.append(el("span", "cell-id", `L${cell.layer} ${cell.state} ${cell.unit}`), el("span", "cell-dot", " · "),
    el("span", "cell-score", `${metricLabel(cell.metric)} ${cell.score.toFixed(2)}`), signMark(cell.sign));
  a.setAttribute("aria-label", `layer ${cell.layer}, ${cell.state}, unit ${cell.unit}: `
    + `${metricLabel(cell.metric)} ${cell.score.toFixed(2)}, ${cell.sign > 0 ? "positive" : "negative"}`);
  let title = `layer ${cell.layer} · ${cell.state} · unit ${cell.unit}\n`
    + `${metricLabel(cell.metric)} ${cell.score.toFixed(4)}: ${signWords(cell)}`;
  if (typeof cell.spearman === "number") title += `\nSpearman ${cell.spearman.toFixed(4)}`;
  a.title = title;
  if (isCurrent(a)) markCurrent(a, true);
  return a;
}

function isCurrent(a) {
  return a.dataset.model === sel.model && a.dataset.layer === String(sel.layer) && a.dataset.state === sel.state
    && a.dataset.unit === String(sel.unit);
}

function markCurrent(a, on) {
  a.classList.toggle("current", on);
  if (on) a.setAttribute("aria-current", "true");
  else a.removeAttribute("aria-current");
}

function refreshCurrentRows() {
  for (const a of document.querySelectorAll("a.cell-row")) markCurrent(a, isCurrent(a));
}

/** A hypothesis with its best units: TOP_SHOWN rows, and a "more" button for the rest. */
function cellGroup(model, title, description, cells, name) {
  const group = el("section", "cells-group");
  if (name) group.dataset.hypothesis = name;
  const head = el("div", "cells-hyp", title);
  if (description) head.title = description;
  group.append(head);
  const list = el("ol", "cells-units");
  cells.forEach((cell, k) => {
    const li = el("li");
    li.append(cellRow(model, cell));
    if (k >= TOP_SHOWN) li.hidden = true;
    list.append(li);
  });
  group.append(list);
  if (cells.length > TOP_SHOWN) {
    const more = el("button", "cells-more", `more (${cells.length - TOP_SHOWN})`);
    more.type = "button";
    more.setAttribute("aria-expanded", "false");
    more.addEventListener("click", () => {
      const open = more.getAttribute("aria-expanded") !== "true";
      list.querySelectorAll("li").forEach((li, k) => { if (k >= TOP_SHOWN) li.hidden = !open; });
      more.setAttribute("aria-expanded", String(open));
      more.textContent = open ? "less" : `more (${cells.length - TOP_SHOWN})`;
    });
    group.append(more);
  }
  return group;
}

function bindRowLinks(root) {
  root.addEventListener("click", (event) => {
    const a = event.target instanceof Element ? event.target.closest("a.cell-row") : null;
    if (!a || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    explorer.selectUnit({ model: a.dataset.model, layer: Number(a.dataset.layer), state: a.dataset.state,
      unit: Number(a.dataset.unit) });
  });
  // keep the link's query string (text, heatmap units) current for "open in new tab" and "copy link"
  const refresh = (event) => {
    const a = event.target instanceof Element ? event.target.closest("a.cell-row") : null;
    if (a) a.href = hrefFor(a.dataset.model, a.dataset.layer, a.dataset.state, a.dataset.unit);
  };
  root.addEventListener("mouseover", refresh);
  root.addEventListener("focusin", refresh);
  root.addEventListener("contextmenu", refresh);
}

/* ------------------------------------------------------------------ loading */

function loadHypotheses() {
  if (!hypotheses) {
    hypotheses = getJson("/api/hypotheses")
      .then((list) => (hypothesesMap = new Map(list.map((h) => [h.name, h]))))
      .catch((error) => {
        hypotheses = null;
        showRankError(`could not list the hypotheses: ${error.message}`);
        return new Map();
      });
  }
  return hypotheses;
}

let modelList = null;

function loadModelList() {
  if (!modelList) {
    modelList = getJson("/api/models").catch(() => {
      modelList = null;
      return [];
    });
  }
  return modelList;
}

async function fetchStored(model) {
  // /api/models says which models have an analysis, so the page never asks for a missing one
  const summary = (await loadModelList()).find((m) => m.name === model);
  if (summary && !summary.has_cells) {
    return {
      status: "none",
      detail: `model '${model}' has no stored cell analysis; build it with ` +
        `\`python -m app.cells.build models/${model}\``,
    };
  }
  return getJson(`/api/models/${enc(model)}/cells?limit=${LIST_LIMIT}`)
      .then((cells) => ({ status: "ok", cells }))
      .catch((error) => {
        if (error.status === 404) return { status: "none", detail: error.message };
        stored.delete(model); // a transient failure: try again next time
        return { status: "error", detail: error.message };
      });
}

function loadStored(model) {
  if (!stored.has(model)) stored.set(model, fetchStored(model));
  return stored.get(model);
}

function loadSaturation(model) {
  if (!saturations.has(model)) {
    const promise = getJson(`/api/models/${enc(model)}/saturation`);
    promise.catch(() => saturations.delete(model));
    saturations.set(model, promise);
  }
  return saturations.get(model);
}

async function hasAnalysis(model) {
  return (await loadStored(model)).status === "ok";
}

/* ------------------------------------------------------------------ cells panel */

async function showStored(model, token) {
  ui.cellsPanel.dataset.state = "loading";
  ui.cellsPanel.dataset.model = model;
  ui.cellsHint.textContent = "loading…";
  ui.cellsList.replaceChildren();
  const [entry, hyps] = await Promise.all([loadStored(model), loadHypotheses()]);
  if (token !== modelToken) return;
  fillHypothesisSelect(hyps);
  ui.cellsNote.hidden = entry.status === "ok";
  ui.cellsNote.classList.toggle("bad", entry.status === "error");
  const noAnalysis = entry.status !== "ok";
  if (noAnalysis && !ui.myText.disabled) {
    ui.myText.dataset.choice = ui.myText.checked ? "1" : "0"; // the user's own choice, restored later
    ui.myText.checked = true;
  } else if (!noAnalysis && ui.myText.disabled) {
    ui.myText.checked = ui.myText.dataset.choice === "1";
  }
  ui.myText.disabled = noAnalysis;
  ui.myTextHint.textContent = noAnalysis ? "required: this model has no stored sample" : "otherwise the model's sample";
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
    for (const [name, cells] of groups) {
      const h = hyps.get(name);
      frag.append(cellGroup(model, pretty(name), h ? h.description : "", cells, name));
    }
    ui.cellsList.replaceChildren(frag);
  }
  ui.cellsPanel.dataset.state = entry.status === "ok" ? "ready" : entry.status;
}

function fillHypothesisSelect(hyps) {
  if (ui.hyp.options.length || !hyps.size) return;
  for (const h of hyps.values()) {
    const opt = el("option", "", pretty(h.name));
    opt.value = h.name;
    opt.title = h.description;
    ui.hyp.append(opt);
  }
}

/* ------------------------------------------------------------------ ranking now */

function showRankError(message) {
  ui.rankError.textContent = message;
  ui.rankError.hidden = !message;
}

function setBusy(on) {
  ui.busy.hidden = !on;
  ui.regexGo.disabled = on;
  ui.hypGo.disabled = on;
  ui.cellsPanel.toggleAttribute("data-busy", on);
}

/** Aborts the ranking in flight; `quietly` also forgets it, so it reports nothing (the model changed). */
function cancelRank({ quietly = false } = {}) {
  if (!rankController) return;
  rankController.abort();
  if (quietly) {
    rankController = null;
    setBusy(false);
  }
}

function myText() {
  const box = $("text");
  return box ? box.value : "";
}

async function rank(body, label) {
  cancelRank();
  const model = sel.model;
  if (!model) return;
  const controller = new AbortController();
  rankController = controller;
  showRankError("");
  setBusy(true);
  ui.rankResults.dataset.state = "busy";
  ui.rankResults.classList.add("stale");
  const t0 = performance.now();
  try {
    const cells = await postJson(`/api/models/${enc(model)}/cells`, { ...body, limit: LIST_LIMIT },
      { signal: controller.signal });
    if (controller !== rankController) return;
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    const group = cellGroup(model, label, body.regex !== undefined ? "characters inside a match count as 1" : "", cells,
      body.hypothesis || "regex");
    const on = body.text !== undefined ? "on your text" : "on the model's sample";
    const where = el("p", "hint", `${on} · ${seconds} s`);
    ui.rankResults.replaceChildren(group, where);
    ui.rankResults.dataset.state = "ready";
  } catch (error) {
    if (controller !== rankController) return;
    if (isAbort(error)) {
      ui.rankResults.replaceChildren(el("p", "hint", "cancelled"));
      ui.rankResults.dataset.state = "cancelled";
    } else {
      ui.rankResults.replaceChildren();
      showRankError(error.message || String(error));
      ui.rankResults.dataset.state = "error";
    }
  } finally {
    if (controller === rankController) {
      rankController = null;
      setBusy(false);
      ui.rankResults.classList.remove("stale");
    }
  }
}

function rankRegex() {
  const pattern = ui.regex.value;
  if (!pattern) {
    showRankError("type a regular expression first");
    ui.regex.focus();
    return;
  }
  const body = { regex: pattern };
  if (ui.myText.checked) {
    const text = myText();
    if (!text) { showRankError("the Text box is empty: type some text, or untick “use my text”"); return; }
    body.text = text;
  }
  rank(body, `regex /${pattern}/`);
}

function rankHypothesis() {
  const name = ui.hyp.value;
  if (!name) return;
  const text = myText();
  if (!text) { showRankError("the Text box is empty: type some text to rank on"); return; }
  rank({ hypothesis: name, text }, `${pretty(name)} (your text)`);
}

/* ------------------------------------------------------------------ unit panel */

function hideUnitPanel() {
  clearTimeout(unitTimer);
  if (unitController) unitController.abort();
  ui.unitPanel.hidden = true;
  ui.unitPanel.dataset.ready = "0";
  report = null;
}

function scheduleUnitReport(delay = UNIT_DEBOUNCE_MS) {
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
  let data = unitReports.get(key);
  if (!data) {
    if (unitController) unitController.abort();
    const controller = new AbortController();
    unitController = controller;
    ui.unitBody.classList.add("stale");
    try {
      data = await getJson(`/api/models/${enc(want.model)}/units/${want.layer}/${enc(want.state)}/${want.unit}`,
        { signal: controller.signal });
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
    unitReports.set(key, data);
    if (unitReports.size > UNIT_CACHE_SIZE) unitReports.delete(unitReports.keys().next().value);
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
function followUnit() {
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

/** With auto contrast (the explorer's checkbox) the examples are scaled by their own range, like the main text. */
function exampleNorm(rep) {
  const contrast = $("auto-contrast");
  if (!contrast || !contrast.checked) return (x) => x;
  const sc = scaleFor(rep.state);
  let lo = Infinity, hi = -Infinity, mag = 0;
  for (const ex of [...rep.top, ...rep.bottom]) {
    for (const v of ex.values) {
      const x = sc.f(v);
      if (x < lo) lo = x;
      if (x > hi) hi = x;
      if (Math.abs(x) > mag) mag = Math.abs(x);
    }
  }
  if (sc.kind === "unit") {
    const span = hi - lo > 1e-9 ? hi - lo : 1;
    const base = Number.isFinite(lo) ? lo : 0;
    return (x) => (x - base) / span;
  }
  const m = mag > 1e-9 ? mag : 1;
  return (x) => x / m;
}

function exampleBlock(rep, title, kind, examples, norm) {
  const block = el("section", "ur-examples");
  block.dataset.kind = kind;
  const head = el("div", "cells-sub", title);
  const shown = Math.min(EXAMPLES_SHOWN, examples.length);
  const count = shown < examples.length ? `${shown} of ${examples.length}` : String(examples.length);
  head.append(el("span", "hint", ` ${count} · peak outlined`));
  block.append(head);
  const list = el("ol", "ur-ex-list");
  examples.forEach((ex, k) => {
    const li = el("li", "ur-ex");
    if (k >= EXAMPLES_SHOWN) li.hidden = true;
    const value = el("span", "ur-val", fmtSigned(ex.value));
    const tanh = rep.state === "c" ? ` (tanh ${fmtSigned(Math.tanh(ex.value))})` : "";
    value.title = `activation at the outlined character${tanh}`;
    li.title = `position ${ex.position.toLocaleString("en-US")} of the sample`;
    li.append(value, contextLine(rep.state, ex, norm));
    list.append(li);
  });
  if (!examples.length) list.append(el("li", "hint", "no examples stored"));
  block.append(list);
  if (examples.length > EXAMPLES_SHOWN) {
    const more = el("button", "cells-more", `show all ${examples.length}`);
    more.type = "button";
    more.setAttribute("aria-expanded", "false");
    more.addEventListener("click", () => {
      const open = more.getAttribute("aria-expanded") !== "true";
      list.querySelectorAll("li").forEach((li, k) => { if (k >= EXAMPLES_SHOWN) li.hidden = !open; });
      more.setAttribute("aria-expanded", String(open));
      more.textContent = open ? `show ${EXAMPLES_SHOWN}` : `show all ${examples.length}`;
    });
    block.append(more);
  }
  return block;
}

function fmtSigned(v) {
  return (v >= 0 ? "+" : "−") + Math.abs(v).toFixed(3);
}

const SHOWN_AS = { "\n": "↵", "\t": "⇥", "\r": "␍" };

/** An example's context, one coloured span per character, the peak outlined. */
function contextLine(state, ex, norm) {
  const line = el("span", "ur-ctx");
  const chars = Array.from(ex.context); // code points, as the server counts them
  chars.forEach((ch, i) => {
    const span = el("span", "cx");
    const shown = SHOWN_AS[ch];
    if (shown) {
      span.classList.add("nl");
      span.textContent = shown;
    } else {
      span.textContent = ch;
    }
    const v = ex.values[i];
    if (typeof v === "number") {
      paint(span, colourFor(state, v, norm));
      span.title = fmtSigned(v);
    }
    if (i === ex.peak) span.classList.add("peak");
    line.append(span);
  });
  return line;
}

/* ------------------------------------------------------------------ saturation scatter */

function hideSaturation() {
  ui.satPanel.hidden = true;
  ui.satPanel.dataset.ready = "0";
  if (satDrawn && window.Plotly) Plotly.purge(ui.satChart);
  satDrawn = false;
  satData = null;
}

async function showSaturation(model, token) {
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

function updateSaturationSelection() {
  if (!satDrawn || !satData || !window.Plotly) return;
  const ring = selectionRing();
  Plotly.restyle(ui.satChart, { x: [ring.x], y: [ring.y] }, [satTraces.length]);
}

/* ------------------------------------------------------------------ following the selection */

function onSelection(next) {
  if (!next || !next.model) return;
  const modelChanged = next.model !== sel.model;
  sel = { ...next };
  if (modelChanged) {
    const token = ++modelToken;
    cancelRank({ quietly: true });
    ui.rankResults.replaceChildren();
    ui.rankResults.dataset.state = "empty";
    showRankError("");
    hideUnitPanel();
    hideSaturation();
    showStored(next.model, token);
    showSaturation(next.model, token);
    scheduleUnitReport(0);
    return;
  }
  refreshCurrentRows();
  updateSaturationSelection();
  followUnit();
}

function bindEvents() {
  ui.rankForm.addEventListener("submit", (event) => {
    event.preventDefault();
    rankRegex();
  });
  ui.hypGo.addEventListener("click", rankHypothesis);
  ui.cancel.addEventListener("click", () => cancelRank());
  bindRowLinks(ui.cellsPanel);
  const contrast = $("auto-contrast");
  if (contrast) contrast.addEventListener("change", () => { if (report) renderUnitReport(report); });
  document.addEventListener("cellexplorer:selection", (event) => onSelection(event.detail));
}

/** The page's #id section, or a new one after `after` (for pages without the placeholders). */
function section(id, className, after) {
  let node = $(id);
  if (!node) {
    node = el("section", className);
    node.id = id;
    after.after(node);
  }
  return node;
}

function start() {
  if (!explorer || !explorer.cellsPanel) return; // not on the explorer page
  const cells = explorer.cellsPanel;
  buildCellsPanel(cells);
  buildSaturationPanel(section("saturation-panel", "panel saturation-panel", cells));
  buildUnitPanel(section("unit-panel", "panel unit-panel", $("coloured") ? $("coloured").closest(".panel") : cells));
  ui.unitPanel.hidden = true;
  ui.satPanel.hidden = true;
  bindEvents();
  loadHypotheses().then((map) => {
    fillHypothesisSelect(map);
    if (report) renderUnitReport(report);
  });
  const now = explorer.getSelection();
  if (now && now.model) onSelection(now); // the explorer was ready before this module ran
}

start();
