// Why did it predict that? (#attribution-panel): for the prediction after the clicked character, the text
// before it coloured by how many bits the prediction loses when each character is occluded (red: it
// depended on it), gradient x input beside it as the cheaper and less faithful estimate, and how well the
// two agree. Target buttons explain another of the predicted characters. Test hook: data-ready ("1" once
// both texts are painted) on #attr-occlusion.

import { appStore } from "../store/app.js";
import { WINDOW, askAttribution } from "./attribution-stream.js";
import { effectColouring, spearman, strongest, targetChoices, windowRecord } from "../lib/attribution.js";
import { visibleChar } from "../lib/chars.js";
import { byId, element } from "../lib/dom.js";
import { fmtInt } from "../lib/format.js";
import { createColouredText } from "../render/coloured-text.js";

const HINT = "click a character of the coloured text: which earlier characters did the prediction after it depend on?";

function block(id, title, note) {
  const box = element("div", "coloured attr-text");
  box.id = id;
  box.setAttribute("role", "region");
  box.setAttribute("aria-label", title);
  const wrap = element("div", "attr-block");
  const head = element("div", "attr-label");
  head.append(element("b", "", title), ` — ${note}`);
  wrap.append(head, box);
  return { wrap, box };
}

export function mountAttribution() {
  const panel = byId("attribution-panel");
  const head = element("div", "panel-head");
  head.append(element("span", "panel-title", "Why this prediction?"), element("span", "hint", HINT));
  const summary = element("p", "attr-summary");
  summary.id = "attr-summary";
  summary.setAttribute("aria-live", "polite");
  const targets = element("div", "attr-targets");
  targets.id = "attr-targets";
  const occlusion = block("attr-occlusion", "Occlusion", "the bits the prediction loses when the character is "
    + "replaced by the unknown symbol (no input); red: the prediction depended on it, blue: it did better without it");
  const gradient = block("attr-gradient", "Gradient × input", "the first-order estimate of the same: cheaper (one "
    + "backward pass) and less faithful, it mostly sees the last few characters");
  const agreement = element("p", "attr-agreement");
  agreement.id = "attr-agreement";
  const strongestList = element("ol", "attr-strongest");
  strongestList.id = "attr-strongest";
  panel.append(head, summary, targets, occlusion.wrap, strongestList, gradient.wrap, agreement);

  const settled = new Set();
  const markReady = (which, serial) => {
    const current = appStore.get().attribution;
    if (!current || current.serial !== serial) return;
    settled.add(which);
    if (settled.has("occlusion") && settled.has("gradient")) occlusion.box.dataset.ready = "1";
  };
  const texts = {
    occlusion: createColouredText(occlusion.box, { onSettled: (record) => {
      texts.occlusion.highlight(record.received - 1); // the character whose prediction this is
      markReady("occlusion", record.serial);
    } }),
    gradient: createColouredText(gradient.box, { onSettled: (record) => markReady("gradient", record.serial) }),
  };

  function clearAll(message) {
    texts.occlusion.clear();
    texts.gradient.clear();
    targets.replaceChildren();
    strongestList.replaceChildren();
    agreement.textContent = "";
    summary.textContent = message;
  }

  function draw(state) {
    const { attribution: result, attributionAsk: ask } = state;
    occlusion.box.dataset.ready = "0";
    settled.clear();
    if (!result || !ask) return clearAll(HINT);
    if (result.phase === "loading") {
      summary.textContent = `occluding each of the ${fmtInt.format(Math.min(ask.position + 1, WINDOW))} characters up to `
        + `position ${fmtInt.format(ask.position)}…`;
      return;
    }
    if (result.phase === "failed") return clearAll(`could not explain this prediction: ${result.message}`);
    const { occlusion: occ, gradient: grad } = result;
    summary.textContent = `After “${visibleChar(occ.chars[occ.chars.length - 1])}” (position `
      + `${fmtInt.format(occ.position)}) the model gives “${visibleChar(occ.target)}” ${occ.target_bits.toFixed(2)} bits `
      + `of surprisal; occluding each of the ${fmtInt.format(occ.effects.length)} characters before it, one at a time:`;
    drawTargets(state, occ);
    for (const [which, answer] of [["occlusion", occ], ["gradient", grad]]) {
      texts[which].sync(windowRecord(result.serial, answer), effectColouring(result.serial, which, answer.effects));
    }
    strongestList.replaceChildren(...strongest(occ).map((s) => element("li", "",
      `“${visibleChar(s.char)}” at ${fmtInt.format(s.position)} (${fmtInt.format(occ.position - s.position + 1)} `
      + `back): ${s.effect >= 0 ? "+" : ""}${s.effect.toFixed(2)} bits`)));
    const rho = spearman(occ.effects, grad.effects);
    agreement.textContent = rho === null ? "rank correlation of the two: — (too few characters)"
      : `rank correlation (Spearman) of occlusion and gradient × input over these characters: ${rho.toFixed(2)}`;
  }

  function drawTargets(state, answer) {
    const record = state.textView;
    const sameText = record && record.chars.join("") === state.attributionAsk.text;
    const next = sameText ? record.chars[answer.position + 1] : undefined;
    const choices = targetChoices(next, sameText ? record.top[answer.position] : []);
    targets.replaceChildren(element("span", "attr-targets-label", "explain the prediction of"),
      ...choices.map((ch) => {
        const button = element("button", ch === answer.target ? "attr-target active" : "attr-target", visibleChar(ch));
        button.type = "button";
        button.setAttribute("aria-pressed", String(ch === answer.target));
        button.title = ch === next ? "the actual next character" : "a predicted character";
        button.addEventListener("click", () => {
          const ask = appStore.get().attributionAsk;
          if (ask && ch !== answer.target) askAttribution({ ...ask, target: ch });
        });
        return button;
      }));
  }

  appStore.subscribe((state, changed) => {
    if (changed.has("attribution") || changed.has("attributionAsk")) draw(state);
  });
  draw(appStore.get());
}
