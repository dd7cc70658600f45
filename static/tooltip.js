// The hover / tap info box for one character of either view, and the highlighted character.

import { LUT, lutIndex, scaleFor } from "./colors.js";
import { ui, fmtInt } from "./dom.js";
import { CHAR_NAMES, visibleChar } from "./chars.js";
import { normaliser } from "./views.js";
import { A } from "./analyse.js";
import { G } from "./generate.js";
import { hoverLine, unhoverLine } from "./charts.js";

export const tip = { view: null, i: -1, span: null, pinned: false };
let highlighted = null;

export function highlight(span) {
  if (highlighted === span) return;
  if (highlighted) highlighted.classList.remove("hl");
  highlighted = span;
  if (span) span.classList.add("hl");
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmtValue(v) {
  return (v >= 0 ? "+" : "") + v.toFixed(4);
}

function buildTip(view, i) {
  const frag = document.createDocumentFragment();
  const ch = view.chars[i];
  const head = el("div", "tip-head");
  head.append(el("span", "tip-char", visibleChar(ch)));
  const name = CHAR_NAMES[ch];
  if (name) head.append(el("span", "tip-name", name));
  const where = view.kind === "sample" ? `generated character ${fmtInt.format(i)}` : `position ${fmtInt.format(i)}`;
  head.append(el("span", "tip-pos", where));
  frag.appendChild(head);
  if (view.unknown.has(i)) frag.appendChild(el("div", "tip-unk", "not in vocabulary — the model read its unknown symbol"));

  const k = view.unitPos;
  const v = view.values[i][k];
  const sc = scaleFor(view.state);
  const valueRow = el("div", "tip-value");
  const sw = el("span", "swatch");
  sw.style.backgroundColor = LUT[lutIndex(normaliser(view)(sc.f(v)))].bg;
  valueRow.append(sw, el("span", "tip-unit", `unit ${view.meta.units[k]} (${view.state})`), el("b", "", fmtValue(v)));
  if (view.state === "c") valueRow.append(el("span", "tip-sub", `tanh ${fmtValue(Math.tanh(v))}`));
  frag.appendChild(valueRow);

  if (view.kind === "text") {
    const top = view.top[i];
    if (top && top.length) {
      frag.appendChild(el("div", "tip-sec", "next character"));
      const list = el("ol", "tip-preds");
      const next = view.chars[i + 1];
      for (const pred of top) {
        const li = el("li", pred.char === next ? "hit" : "");
        li.append(el("span", "pc", visibleChar(pred.char)));
        const bar = el("span", "bar");
        const fill = el("span", "fill");
        fill.style.width = `${Math.max(1, Math.round(pred.p * 100))}%`;
        bar.appendChild(fill);
        li.append(bar, el("span", "pp", `${(pred.p * 100).toFixed(1)}%`));
        list.appendChild(li);
      }
      frag.appendChild(list);
    }
    const bits = view.bits[i];
    const bitsRow = el("div", "tip-bits");
    if (bits === null || bits === undefined) {
      bitsRow.textContent = "surprisal: — (no next character)";
    } else {
      bitsRow.append(`surprisal of next “${visibleChar(view.chars[i + 1] ?? "")}”: `, el("b", "", `${bits.toFixed(2)} bits`));
    }
    frag.appendChild(bitsRow);
  } else if (view.p[i] !== undefined) {
    const p = view.p[i];
    const row = el("div", "tip-bits");
    row.append("drawn with probability ", el("b", "", `${(p * 100).toFixed(1)}%`),
      ` (${(-Math.log2(Math.max(p, 1e-12))).toFixed(2)} bits)`);
    frag.appendChild(row);
  }
  if (tip.pinned) frag.appendChild(el("div", "tip-foot", "tap elsewhere or press Esc to close"));
  return frag;
}

export function positionTip(span) {
  const r = span.getBoundingClientRect();
  const box = ui.tip;
  const w = box.offsetWidth;
  const h = box.offsetHeight;
  const margin = 8;
  let left = r.left + r.width / 2 - w / 2;
  left = Math.max(margin, Math.min(left, window.innerWidth - w - margin));
  let top = r.bottom + 8;
  if (top + h > window.innerHeight - margin && r.top - h - 8 > margin) top = r.top - h - 8;
  box.style.left = `${Math.round(left)}px`;
  box.style.top = `${Math.round(Math.max(margin, top))}px`;
}

function showTip(view, i, span, pinned = tip.pinned) {
  if (!view || !view.meta || i >= view.values.length) return;
  tip.view = view;
  tip.i = i;
  tip.span = span;
  tip.pinned = pinned;
  ui.tip.replaceChildren(buildTip(view, i));
  ui.tip.classList.toggle("pinned", pinned);
  ui.tip.hidden = false;
  positionTip(span);
}

export function refreshTip() {
  if (!ui.tip.hidden && tip.view && tip.span && tip.span.isConnected) showTip(tip.view, tip.i, tip.span, tip.pinned);
}

export function hideTip() {
  ui.tip.hidden = true;
  tip.view = null;
  tip.span = null;
  tip.pinned = false;
  highlight(null);
  unhoverLine();
}

function viewOf(container) {
  return container === ui.coloured ? A : G;
}

export function bindCharHover(container) {
  container.addEventListener("mouseover", (event) => {
    const span = event.target;
    if (!(span instanceof HTMLElement) || !span.classList.contains("ch") || tip.pinned) return;
    const view = viewOf(container);
    if (!view) return;
    highlight(span);
    showTip(view, span.idx, span, false);
    if (view === A) hoverLine(span.idx);
  });
  container.addEventListener("mouseleave", () => {
    if (!tip.pinned) hideTip();
  });
  container.addEventListener("click", (event) => {
    const span = event.target;
    if (!(span instanceof HTMLElement) || !span.classList.contains("ch")) return;
    const view = viewOf(container);
    if (!view) return;
    event.stopPropagation();
    if (tip.pinned && tip.span === span) { hideTip(); return; }
    highlight(span);
    showTip(view, span.idx, span, true);
    if (view === A) hoverLine(span.idx);
  });
}
