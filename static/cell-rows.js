// Unit rows: every unit is a link with the unit in the query string (the explorer's own URL format),
// so it can be opened in a new tab or shared; a plain click selects it in place via selectUnit.

import { el, metricLabel } from "./cells-dom.js";
import { explorer, sel } from "./cells-state.js";

const TOP_SHOWN = 3; // unit rows shown per hypothesis before "more"

function hrefFor(model, layer, state, unit) {
  const params = new URLSearchParams(location.search);
  params.set("model", model);
  params.set("layer", String(layer));
  params.set("state", state);
  params.set("unit", String(unit));
  return `${location.pathname}?${params.toString()}`;
}

export function signMark(sign) {
  // the spaces keep the row's text readable when copied; grid items trim them on screen
  return el("span", sign > 0 ? "cell-sign pos" : "cell-sign neg", sign > 0 ? " ▲" : " ▼");
}

export function signWords(cell) {
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

export function refreshCurrentRows() {
  for (const a of document.querySelectorAll("a.cell-row")) markCurrent(a, isCurrent(a));
}

/** A hypothesis with its best units: TOP_SHOWN rows, and a "more" button for the rest. */
export function cellGroup(model, title, description, cells, name) {
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

export function bindRowLinks(root) {
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
