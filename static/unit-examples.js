// The unit report's top / bottom examples: each context coloured character by character on the explorer's
// fixed scale (colors.js), the peak outlined.

import { colourFor, paint, scaleFor } from "./colors.js";
import { $, el } from "./cells-dom.js";

const EXAMPLES_SHOWN = 8; // examples per side before "show all"
const INTEGRATOR_GAP = 0.05; // relative difference beyond which the scan's own value is worth a note
const SHOWN_AS = { "\n": "↵", "\t": "⇥", "\r": "␍" };

function fmtSigned(v) {
  return (v >= 0 ? "+" : "−") + Math.abs(v).toFixed(3);
}

/** With auto contrast (the explorer's checkbox) the examples are scaled by their own range, like the main text. */
export function exampleNorm(rep) {
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

export function exampleBlock(rep, title, kind, examples, norm) {
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
    // the number matches the colours: the context's own recomputation (after its warm-up), not the sample
    // scan's value, which differs only for cells that keep integrating over thousands of characters
    const atPeak = ex.values.length > ex.peak ? ex.values[ex.peak] : ex.value;
    const value = el("span", "ur-val", fmtSigned(atPeak));
    const tanh = rep.state === "c" ? ` (tanh ${fmtSigned(Math.tanh(atPeak))})` : "";
    value.title = `activation at the outlined character${tanh}`;
    if (Math.abs(atPeak - ex.value) > INTEGRATOR_GAP * Math.max(1, Math.abs(ex.value))) {
      value.classList.add("ur-val-differs");
      value.title += `\nthe sample scan measured ${fmtSigned(ex.value)} here, after reading a different stretch of `
        + "text before it: this cell keeps adding up over thousands of characters, so its value depends on "
        + "where reading starts";
    }
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
