// The unit report's top / bottom examples: each context coloured character by character on the
// explorer's fixed scale (lib/colours.js), the peak outlined.

import { colourFor, normaliser, paint, scaleFor, valueRange } from "../lib/colours.js";
import { LINE_BREAK_MARKS } from "../lib/chars.js";
import { element, foldButton } from "../lib/dom.js";
import { fmtSigned } from "../lib/format.js";

const EXAMPLES_SHOWN = 8; // examples per side before "show all"
const INTEGRATOR_GAP = 0.05; // relative difference beyond which the scan's own value is worth a note

/** With auto contrast the examples are scaled by their own range, like the main text. */
export function exampleNorm(report, autoContrast) {
  if (!autoContrast) return (x) => x;
  const scale = scaleFor(report.state);
  const values = [...report.top, ...report.bottom].flatMap((ex) => ex.values);
  return normaliser(scale.domain, valueRange(values, scale.transform), true);
}

/** `side` is "top" or "bottom" (the block's data-kind, a test hook). */
export function exampleBlock(report, title, side, examples, norm) {
  const block = element("section", "ur-examples");
  block.dataset.kind = side;
  const head = element("div", "cells-sub", title);
  const shown = Math.min(EXAMPLES_SHOWN, examples.length);
  const count = shown < examples.length ? `${shown} of ${examples.length}` : String(examples.length);
  head.append(element("span", "hint", ` ${count} · peak outlined`));
  const list = element("ol", "ur-ex-list");
  examples.forEach((ex, k) => {
    const li = element("li", "ur-ex");
    li.hidden = k >= EXAMPLES_SHOWN;
    li.title = `position ${ex.position.toLocaleString("en-US")} of the sample`;
    li.append(valueAtPeak(report, ex), contextLine(report.state, ex, norm));
    list.append(li);
  });
  if (!examples.length) list.append(element("li", "hint", "no examples stored"));
  block.append(head, list);
  if (examples.length > EXAMPLES_SHOWN) {
    block.append(foldButton(list, EXAMPLES_SHOWN, examples.length,
      { more: `show all ${examples.length}`, less: `show ${EXAMPLES_SHOWN}` }));
  }
  return block;
}

function valueAtPeak(report, ex) {
  // the number matches the colours: the context's own recomputation (after its warm-up), not the sample
  // scan's value, which differs only for cells that keep integrating over thousands of characters
  const atPeak = ex.values.length > ex.peak ? ex.values[ex.peak] : ex.value;
  const value = element("span", "ur-val", fmtSigned(atPeak));
  const tanh = report.state === "c" ? ` (tanh ${fmtSigned(Math.tanh(atPeak))})` : "";
  value.title = `activation at the outlined character${tanh}`;
  if (Math.abs(atPeak - ex.value) > INTEGRATOR_GAP * Math.max(1, Math.abs(ex.value))) {
    value.classList.add("ur-val-differs");
    value.title += `\nthe sample scan measured ${fmtSigned(ex.value)} here, after reading a different stretch of `
      + "text before it: this cell keeps adding up over thousands of characters, so its value depends on "
      + "where reading starts";
  }
  return value;
}

/** An example's context, one coloured span per character, the peak outlined. */
function contextLine(state, ex, norm) {
  const line = element("span", "ur-ctx");
  Array.from(ex.context).forEach((ch, i) => { // code points, as the server counts them
    const span = element("span", "cx");
    const mark = LINE_BREAK_MARKS[ch];
    if (mark) span.classList.add("nl");
    span.textContent = mark || ch;
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
