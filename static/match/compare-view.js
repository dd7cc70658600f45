// Compare two models (#match-compare): for a unit of the select-and-match list, the units of another model
// whose activations correlate best with it on the current model's held-out sample, and the linear CKA of
// the two states; a row's "side by side" colours the page's text by both units, one above the other, and
// "show" switches the page to that model and unit. Test hooks: data-state on #match-compare and
// #match-pair.

import { appStore } from "../store/app.js";
import { select } from "../store/selection.js";
import { askPair } from "./match-stream.js";
import { byId, element } from "../lib/dom.js";
import { fmtInt } from "../lib/format.js";
import { unitColouring, unitRecord } from "../lib/match.js";
import { createColouredText } from "../render/coloured-text.js";

function pairBox(label) {
  const wrap = element("div", "match-pair-item");
  const box = element("div", "coloured match-context");
  box.setAttribute("role", "region");
  box.setAttribute("aria-label", label);
  wrap.append(element("div", "match-item-head", label), box);
  return { wrap, box };
}

export function mountCompare() {
  const panel = byId("match-panel");
  const box = element("div", "match-compare-box");
  box.id = "match-compare";
  box.dataset.state = "empty";
  box.setAttribute("aria-live", "polite");
  panel.append(box);

  function draw(state) {
    const view = state.compareView;
    box.dataset.state = !view ? "empty" : view.phase === "done" ? "ready" : view.phase;
    if (!view) return box.replaceChildren();
    const { layer, state: kind, unit } = view.unit;
    const what = `layers.${layer}.${kind} ${unit}`;
    if (view.phase === "loading") return box.replaceChildren(element("p", "", `correlating ${view.other}'s units `
      + `with ${what}…`));
    if (view.phase === "failed") return box.replaceChildren(element("p", "", `could not compare: ${view.message}`));
    const { answer } = view;
    const head = element("p", "", `${answer.model_b}'s units most like ${answer.model_a} ${what} (Pearson r over `
      + `${fmtInt.format(answer.chars)} characters); linear CKA of ${answer.cka_a} and ${answer.cka_b}: `
      + `${answer.cka.toFixed(2)}`);
    const list = element("ol", "match-compare-list");
    list.append(...answer.units.map((u) => {
      const li = element("li", "", `${u.name} ${u.unit}: r ${u.pearson.toFixed(2)} `);
      const pair = element("button", "match-compare-show match-pair-button", "side by side");
      pair.type = "button";
      pair.title = "colour the text by this unit and the selected one, one above the other";
      pair.addEventListener("click", () => askPair({ layer: u.layer, state: u.state, unit: u.unit }));
      li.append(pair);
      const show = element("button", "match-compare-show", "show");
      show.type = "button";
      show.title = `switch to ${answer.model_b} and this unit (the same text stays)`;
      show.addEventListener("click", () => select({ model: answer.model_b, layer: u.layer, state: u.state,
        unit: u.unit }));
      li.append(show);
      return li;
    }));
    box.replaceChildren(head, list, drawPair(view));
  }

  function drawPair(view) {
    const holder = element("div", "match-pair");
    holder.id = "match-pair";
    const pair = view.pair;
    holder.dataset.state = !pair ? "empty" : pair.phase === "done" ? "ready" : pair.phase;
    if (!pair) return holder;
    if (pair.phase !== "done") {
      holder.append(element("p", "", pair.phase === "loading" ? "colouring the text by both units…"
        : `could not colour the text: ${pair.message}`));
      return holder;
    }
    for (const answer of [pair.a, pair.b]) {
      const { wrap, box: target } = pairBox(`${answer.model} ${answer.name} ${answer.units[0]}`);
      holder.append(wrap);
      createColouredText(target).sync(unitRecord(view.serial, answer), unitColouring(view.serial, answer));
    }
    return holder;
  }

  appStore.subscribe((state, changed) => {
    if (changed.has("compareView")) draw(state);
  });
  draw(appStore.get());
}
