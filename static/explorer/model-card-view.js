// "About this model": the selected model's facts and card (GET /api/models/{name}, fetched once).

import { appStore } from "../store/app.js";
import { modelDetail } from "../api/client.js";
import { appendTerms, byId } from "../lib/dom.js";
import { fmtInt } from "../lib/format.js";

export function mountModelCard() {
  const facts = byId("model-facts");
  const card = byId("model-card");
  appStore.subscribe(async (state, changed) => {
    if (!changed.has("model") || !state.model) return;
    const name = state.model;
    facts.replaceChildren();
    card.textContent = "";
    let detail;
    try {
      detail = await modelDetail(name);
    } catch (error) {
      if (appStore.get().model === name) card.textContent = `could not load the model card: ${error.message}`;
      return;
    }
    if (appStore.get().model !== name) return;
    appendTerms(facts, [
      ["architecture", `${detail.arch}, ${detail.layers} layer${detail.layers > 1 ? "s" : ""} × ${detail.hidden_size} units`],
      ["parameters", fmtInt.format(detail.parameters)],
      ["input", detail.input],
      ["vocabulary", `${detail.vocab_size} classes (${detail.vocab.length} characters + unknown)`],
      ["corpus", detail.corpus],
      ["test bits/char", typeof detail.test_bpc === "number" ? detail.test_bpc.toFixed(3) : "—"],
      ["n-gram baseline", typeof detail.ngram_test_bpc === "number" ? detail.ngram_test_bpc.toFixed(3) : "—"],
    ]);
    card.textContent = detail.card || "(no model card)";
  });
}
