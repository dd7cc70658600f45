// What the intervention panel says about one character of its answer: the surprisal of that
// character before and after, and the predictions the model made for it (after reading the one
// before) without and with the intervention, side by side.

import { visibleChar } from "../lib/chars.js";
import { element } from "../lib/dom.js";
import { fmtInt, fmtValue } from "../lib/format.js";

function predictionList(title, predictions, actual) {
  const box = element("div", "iv-preds");
  box.append(element("div", "tip-sec", title));
  const list = element("ol", "tip-preds");
  for (const prediction of predictions || []) {
    const li = element("li", prediction.char === actual ? "hit" : "");
    const fill = element("span", "fill");
    fill.style.width = `${Math.max(1, Math.round(prediction.p * 100))}%`;
    const bar = element("span", "bar");
    bar.append(fill);
    li.append(element("span", "pc", visibleChar(prediction.char)), bar,
      element("span", "pp", `${(prediction.p * 100).toFixed(1)}%`));
    list.append(li);
  }
  box.append(list);
  return box;
}

/** The details of character j of an answer of POST /api/interventions (with topk > 0). */
export function effectDetail(answer, j) {
  const frag = document.createDocumentFragment();
  const ch = answer.chars[j];
  const head = element("div", "tip-head");
  head.append(element("span", "tip-char", visibleChar(ch)), element("span", "tip-pos", `position ${fmtInt.format(j)}`));
  frag.append(head);
  if (j === 0) {
    frag.append(element("div", "", "the first character is read, not predicted"));
    return frag;
  }
  const before = answer.base_bits[j - 1], after = answer.bits[j - 1], delta = answer.delta_bits[j - 1];
  const row = element("div", "tip-bits");
  row.append(`surprisal ${before.toFixed(2)} → ${after.toFixed(2)} bits (`, element("b", "", fmtValue(delta)),
    `) · KL ${answer.kl[j - 1].toFixed(3)} bits`);
  frag.append(row);
  if (answer.predictions) {
    const pair = element("div", "iv-pair");
    pair.append(predictionList("predicted before", answer.base_predictions[j - 1], ch),
      predictionList("after", answer.predictions[j - 1], ch));
    frag.append(pair);
  }
  const values = element("div", "tip-sub");
  values.textContent = `unit ${answer.units[0]} read ${fmtValue(answer.base_values[j][0])} → ${fmtValue(answer.values[j][0])}`;
  frag.append(values);
  return frag;
}
