// Unit rows: each unit is a link with the unit in the query string (the explorer's own address
// format), so it can be opened in a new tab or shared; a plain click selects it in place. The link's
// name is its visible text ("L1 c 211 · AUROC 0.99 ▲"); its title says the same in words.

import { select } from "../store/selection.js";
import { element, foldButton } from "../lib/dom.js";
import { metricLabel } from "../lib/names.js";
import { unitHref } from "../lib/page-url.js";

const TOP_SHOWN = 3; // unit rows shown per hypothesis before "more"

export function signMark(sign) {
  // the spaces keep the row's text readable when copied; grid items trim them on screen
  const mark = element("span", sign > 0 ? "cell-sign pos" : "cell-sign neg", sign > 0 ? " ▲" : " ▼");
  mark.setAttribute("aria-hidden", "true"); // the title says it in words
  return mark;
}

export function signWords(cell) {
  if (cell.metric === "auroc") return `the unit is ${cell.sign > 0 ? "high" : "low"} where the hypothesis holds`;
  return cell.sign > 0 ? "the unit rises with the hypothesis" : "the unit falls as the hypothesis rises";
}

function cellRow(model, cell, selection) {
  const a = element("a", "cell-row");
  a.href = unitHref(location, { model, ...cell });
  Object.assign(a.dataset, { model, layer: String(cell.layer), state: cell.state, unit: String(cell.unit) });
  a.append(element("span", "cell-id", `L${cell.layer} ${cell.state} ${cell.unit}`), element("span", "cell-dot", " · "),
    element("span", "cell-score", `${metricLabel(cell.metric)} ${cell.score.toFixed(2)}`), signMark(cell.sign));
  let title = `layer ${cell.layer} · ${cell.state} · unit ${cell.unit}\n`
    + `${metricLabel(cell.metric)} ${cell.score.toFixed(4)}: ${signWords(cell)}`;
  if (typeof cell.spearman === "number") title += `\nSpearman ${cell.spearman.toFixed(4)}`;
  a.title = title;
  markCurrent(a, isCurrent(a, selection));
  return a;
}

function isCurrent(a, s) {
  return a.dataset.model === s.model && a.dataset.layer === String(s.layer) && a.dataset.state === s.state
    && a.dataset.unit === String(s.unit);
}

function markCurrent(a, on) {
  a.classList.toggle("current", on);
  if (on) a.setAttribute("aria-current", "true");
  else a.removeAttribute("aria-current");
}

/** Marks the row of the selected unit under `root` (and unmarks the others). */
export function markCurrentRows(root, selection) {
  for (const a of root.querySelectorAll("a.cell-row")) markCurrent(a, isCurrent(a, selection));
}

/** A hypothesis with its best units: TOP_SHOWN rows, and a "more" button for the rest. */
export function cellGroup({ model, title, description, cells, name, selection }) {
  const group = element("section", "cells-group");
  if (name) group.dataset.hypothesis = name;
  const head = element("div", "cells-hyp", title);
  if (description) head.title = description;
  const list = element("ol", "cells-units");
  cells.forEach((cell, k) => {
    const li = element("li");
    li.append(cellRow(model, cell, selection));
    li.hidden = k >= TOP_SHOWN;
    list.append(li);
  });
  group.append(head, list);
  if (cells.length > TOP_SHOWN) {
    group.append(foldButton(list, TOP_SHOWN, cells.length, { more: `more (${cells.length - TOP_SHOWN})`, less: "less" }));
  }
  return group;
}

/** A plain click on a row selects its unit; the link's address is refreshed before it is used. */
export function bindRowLinks(root) {
  const rowOf = (event) => (event.target instanceof Element ? event.target.closest("a.cell-row") : null);
  root.addEventListener("click", (event) => {
    const a = rowOf(event);
    if (!a || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    select({ model: a.dataset.model, layer: Number(a.dataset.layer), state: a.dataset.state,
      unit: Number(a.dataset.unit) });
  });
  // keep the query string (text, heatmap units) current for "open in new tab" and "copy link"
  const refresh = (event) => {
    const a = rowOf(event);
    if (a) a.href = unitHref(location, a.dataset);
  };
  for (const type of ["mouseover", "focusin", "contextmenu"]) root.addEventListener(type, refresh);
}
