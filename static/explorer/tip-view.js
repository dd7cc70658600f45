// The box about one character (#tip): its value for the unit it is painted with, the next-character
// predictions and surprisal (the text) or its probability (a sample). It follows the store's caret;
// `renderers` ({text, sample}: render/coloured-text.js) give the character's span and colouring.

import { appStore } from "../store/app.js";
import { touches } from "../store/writable.js";
import { LUT, lutIndex } from "../lib/colours.js";
import { CHAR_NAMES, visibleChar } from "../lib/chars.js";
import { byId, element } from "../lib/dom.js";
import { fmtInt, fmtValue } from "../lib/format.js";

const MARGIN = 8;

export function mountTip(renderers) {
  const box = byId("tip");
  let span = null;

  function place() {
    if (box.hidden || !span || !span.isConnected) return;
    const r = span.getBoundingClientRect();
    const w = box.offsetWidth;
    const h = box.offsetHeight;
    const left = Math.max(MARGIN, Math.min(r.left + r.width / 2 - w / 2, window.innerWidth - w - MARGIN));
    let top = r.bottom + 8;
    if (top + h > window.innerHeight - MARGIN && r.top - h - 8 > MARGIN) top = r.top - h - 8;
    box.style.left = `${Math.round(left)}px`;
    box.style.top = `${Math.round(Math.max(MARGIN, top))}px`;
  }

  function draw(state) {
    const caret = state.caret;
    const record = caret && (caret.source === "text" ? state.textView : state.sampleView);
    const renderer = caret && renderers[caret.source];
    span = renderer ? renderer.spanAt(caret.index) : null;
    if (!caret || caret.via === "chart" || !record || !span || !renderer.colouring) {
      box.hidden = true;
      span = null;
      return;
    }
    box.replaceChildren(describe(record, caret.index, renderer.colouring, caret.pinned));
    box.classList.toggle("pinned", caret.pinned);
    box.hidden = false;
    place();
  }

  appStore.subscribe((state, changed) => {
    if (touches(changed, "caret", "unit", "autoContrast", "textView", "sampleView")) draw(state);
  });
  window.addEventListener("resize", place);
  document.addEventListener("scroll", place, true);
}

function describe(record, i, colouring, pinned) {
  const frag = document.createDocumentFragment();
  const ch = record.chars[i];
  const head = element("div", "tip-head");
  head.append(element("span", "tip-char", visibleChar(ch)));
  if (CHAR_NAMES[ch]) head.append(element("span", "tip-name", CHAR_NAMES[ch]));
  head.append(element("span", "tip-pos", record.source === "sample" ? `generated character ${fmtInt.format(i)}`
    : `position ${fmtInt.format(i)}`));
  frag.append(head);
  if (record.unknown.has(i)) frag.append(element("div", "tip-unk", "not in vocabulary — the model read its unknown symbol"));

  const v = colouring.column[i];
  const row = element("div", "tip-value");
  const swatch = element("span", "swatch");
  swatch.style.backgroundColor = LUT[lutIndex(colouring.norm(colouring.transform(v)))].bg;
  row.append(swatch, element("span", "tip-unit", `unit ${colouring.unit} (${record.state})`), element("b", "", fmtValue(v)));
  if (record.state === "c") row.append(element("span", "tip-sub", `tanh ${fmtValue(Math.tanh(v))}`));
  frag.append(row);
  frag.append(...(record.source === "text" ? nextCharacter(record, i) : drawnWith(record, i)));
  if (pinned) frag.append(element("div", "tip-foot", "tap elsewhere or press Esc to close"));
  return frag;
}

function nextCharacter(record, i) {
  const out = [];
  const top = record.top[i];
  if (top && top.length) {
    out.push(element("div", "tip-sec", "next character"));
    const list = element("ol", "tip-preds");
    const next = record.chars[i + 1];
    for (const prediction of top) {
      const li = element("li", prediction.char === next ? "hit" : "");
      const fill = element("span", "fill");
      fill.style.width = `${Math.max(1, Math.round(prediction.p * 100))}%`;
      const bar = element("span", "bar");
      bar.append(fill);
      li.append(element("span", "pc", visibleChar(prediction.char)), bar, element("span", "pp", `${(prediction.p * 100).toFixed(1)}%`));
      list.append(li);
    }
    out.push(list);
  }
  const bits = record.bits[i];
  const row = element("div", "tip-bits");
  if (bits === null || bits === undefined) row.textContent = "surprisal: — (no next character)";
  else row.append(`surprisal of next “${visibleChar(record.chars[i + 1] ?? "")}”: `, element("b", "", `${bits.toFixed(2)} bits`));
  out.push(row);
  return out;
}

function drawnWith(record, i) {
  const p = record.p[i];
  if (p === undefined) return [];
  const row = element("div", "tip-bits");
  row.append("drawn with probability ", element("b", "", `${(p * 100).toFixed(1)}%`),
    ` (${(-Math.log2(Math.max(p, 1e-12))).toFixed(2)} bits)`);
  return [row];
}
