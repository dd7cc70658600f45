// Compare two models (#match-compare): for a unit of the select-and-match list, the units of another model
// whose activations correlate best with it on the current model's held-out sample, and the linear CKA of
// the two states; a row's "show" button switches the page to that model and unit, so both can be seen on
// the same text one after the other. Test hook: data-state on #match-compare.

import { appStore } from "../store/app.js";
import { select } from "../store/selection.js";
import { byId, element } from "../lib/dom.js";
import { fmtInt } from "../lib/format.js";

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
      const show = element("button", "match-compare-show", "show");
      show.type = "button";
      show.title = `switch to ${answer.model_b} and this unit (the same text stays)`;
      show.addEventListener("click", () => select({ model: answer.model_b, layer: u.layer, state: u.state,
        unit: u.unit }));
      li.append(show);
      return li;
    }));
    box.replaceChildren(head, list);
  }

  appStore.subscribe((state, changed) => {
    if (changed.has("compareView")) draw(state);
  });
  draw(appStore.get());
}
