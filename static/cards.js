// The side column's cards: the selected unit's statistics on the analysed text, and the model's facts and card.

import { getJson } from "./ndjson.js";
import { scaleFor } from "./colors.js";
import { ui, fmtInt, appendTerms } from "./dom.js";
import { S } from "./state.js";
import { A } from "./analyse.js";
import { unitSeries } from "./views.js";

export function updateUnitCard() {
  ui.unitName.textContent = `layer ${S.layer} · ${S.state} · unit ${S.unit}`;
  ui.unitStats.replaceChildren();
  const ys = A && A.finished ? unitSeries(A) : null;
  if (!ys || !ys.length) return;
  const gate = scaleFor(A.state).kind === "unit";
  const cut = gate ? 0.5 : 0;
  let min = Infinity, max = -Infinity, sum = 0, above = 0;
  for (const y of ys) {
    if (y < min) min = y;
    if (y > max) max = y;
    sum += y;
    if (y > cut) above++;
  }
  const rows = [
    ["min", min.toFixed(3)], ["max", max.toFixed(3)], ["mean", (sum / ys.length).toFixed(3)],
    [gate ? "open (> 0.5)" : "positive", `${((100 * above) / ys.length).toFixed(0)}% of characters`],
  ];
  appendTerms(ui.unitStats, rows);
}

export async function loadModelDetails(name) {
  ui.modelFacts.replaceChildren();
  ui.modelCard.textContent = "";
  let detail = S.details.get(name);
  if (!detail) {
    try {
      detail = await getJson(`/api/models/${encodeURIComponent(name)}`);
      S.details.set(name, detail);
    } catch (error) {
      if (S.model === name) ui.modelCard.textContent = `could not load the model card: ${error.message}`;
      return;
    }
  }
  if (S.model !== name) return;
  const facts = [
    ["architecture", `${detail.arch}, ${detail.layers} layer${detail.layers > 1 ? "s" : ""} × ${detail.hidden_size} units`],
    ["parameters", fmtInt.format(detail.parameters)],
    ["input", detail.input],
    ["vocabulary", `${detail.vocab_size} classes (${detail.vocab.length} characters + unknown)`],
    ["corpus", detail.corpus],
    ["test bits/char", typeof detail.test_bpc === "number" ? detail.test_bpc.toFixed(3) : "—"],
    ["n-gram baseline", typeof detail.ngram_test_bpc === "number" ? detail.ngram_test_bpc.toFixed(3) : "—"],
  ];
  appendTerms(ui.modelFacts, facts);
  ui.modelCard.textContent = detail.card || "(no model card)";
}
