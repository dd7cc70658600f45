// The "Rank every unit now" form of the cells panel: by a regular expression (on the model's sample or
// the user's text) or by a built-in hypothesis (on the user's text), POST /api/models/{m}/cells.
// Test hook: data-state on #cells-rank-results.

import { isAbort } from "./ndjson.js";
import { $, el, pretty } from "./cells-dom.js";
import { sel } from "./cells-state.js";
import { loadHypotheses, rankUnits } from "./cells-api.js";
import { cellGroup } from "./cell-rows.js";

const ui = {};
let rankController = null;

/** Builds the form (its events bound); `panel` is the cells panel, marked data-busy while ranking. */
export function buildRankForm(panel) {
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

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    rankRegex();
  });
  ui.hypGo.addEventListener("click", rankHypothesis);
  ui.cancel.addEventListener("click", () => cancelRank());
  ui.cellsPanel = panel;
  return form;
}

/** The built-in hypotheses (cells-api.js); a failure to list them is shown under the form. */
export function listHypotheses() {
  return loadHypotheses((error) => showRankError(`could not list the hypotheses: ${error.message}`));
}

export function fillHypothesisSelect(hyps) {
  if (ui.hyp.options.length || !hyps.size) return;
  for (const h of hyps.values()) {
    const opt = el("option", "", pretty(h.name));
    opt.value = h.name;
    opt.title = h.description;
    ui.hyp.append(opt);
  }
}

/** Without a stored analysis there is no sample to rank on: "use my text" is then forced on. */
export function requireMyText(noAnalysis) {
  if (noAnalysis && !ui.myText.disabled) {
    ui.myText.dataset.choice = ui.myText.checked ? "1" : "0"; // the user's own choice, restored later
    ui.myText.checked = true;
  } else if (!noAnalysis && ui.myText.disabled) {
    ui.myText.checked = ui.myText.dataset.choice === "1";
  }
  ui.myText.disabled = noAnalysis;
  ui.myTextHint.textContent = noAnalysis ? "required: this model has no stored sample" : "otherwise the model's sample";
}

/** The model changed: forget the ranking in flight, its results and its error. */
export function resetRank() {
  cancelRank({ quietly: true });
  ui.rankResults.replaceChildren();
  ui.rankResults.dataset.state = "empty";
  showRankError("");
}

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
    const cells = await rankUnits(model, body, controller.signal);
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
