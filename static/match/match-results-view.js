// The matches of select and match (#match-results): the spans of the held-out sample where the selected units
// are on together, best first, each with its context coloured by the units' mean signed percentile (red: on,
// as in the selection), the match itself outlined, and a thin meta track of the hypothesis under it; above
// them, the built-in hypothesis that agrees best with the selected set. Test hooks: data-state on
// #match-results ("empty", "loading", "ready", "failed"), data-count (matches shown), data-painted ("1" once
// every context is painted).

import { appStore } from "../store/app.js";
import { agreementSentence, contextRecord, matchParts, signalColouring, trackShades } from "../lib/match.js";
import { byId, element } from "../lib/dom.js";
import { fmtInt } from "../lib/format.js";
import { createColouredText } from "../render/coloured-text.js";

function matchBlock(item, rank, serial, trackName, onPainted) {
  const wrap = element("li", "match-item");
  const where = item.source === "sample" ? "held-out sample" : "your text";
  wrap.append(element("div", "match-item-head", `${rank}. ${where}, characters ${fmtInt.format(item.start)}–`
    + `${fmtInt.format(item.end - 1)} · score ${item.score.toFixed(2)} (Jaccard ${item.jaccard.toFixed(2)})`));
  const box = element("div", "coloured match-context");
  box.setAttribute("role", "region");
  box.setAttribute("aria-label", `match ${rank}`);
  wrap.append(box);
  const [before, inside] = matchParts(item);
  const shades = trackShades(item.track);
  const text = createColouredText(box, { onSettled: () => {
    for (let i = 0; i < text.rendered; i++) {
      const span = text.spanAt(i);
      span.classList.toggle("match-hit", i >= before && i < before + inside);
      if (shades.length) span.style.boxShadow = `inset 0 -3px 0 rgba(20, 20, 20, ${shades[i].toFixed(2)})`;
    }
    onPainted();
  } });
  text.sync(contextRecord(`${serial}-${rank}`, item), signalColouring(`${serial}-${rank}`, item.values));
  if (trackName) box.title = `underline: ${trackName}`;
  return wrap;
}

export function mountMatchResults() {
  const panel = byId("match-panel");
  const best = element("p", "match-best");
  best.id = "match-best";
  best.setAttribute("aria-live", "polite");
  const list = element("ol", "match-results");
  list.id = "match-results";
  list.dataset.state = "empty";
  list.dataset.count = "0";
  panel.append(best, list);

  function draw(state) {
    const view = state.matchView;
    list.dataset.state = !view ? "empty" : view.phase === "done" ? "ready" : view.phase;
    if (!view || view.phase !== "done") {
      if (!view || view.phase === "failed") {
        list.replaceChildren();
        best.textContent = "";
        list.dataset.count = "0";
      }
      return;
    }
    const { match } = view;
    best.textContent = agreementSentence(match) + (match.track ? ` · underlined: ${match.track}` : "");
    let painted = 0;
    list.dataset.painted = "0";
    const onPainted = () => {
      if (++painted === match.matches.length && appStore.get().matchView === view) list.dataset.painted = "1";
    };
    list.replaceChildren(...match.matches.map((item, k) => matchBlock(item, k + 1, view.serial, match.track,
      onPainted)));
    list.dataset.count = String(match.matches.length);
  }

  appStore.subscribe((state, changed) => {
    if (changed.has("matchView")) draw(state);
  });
  draw(appStore.get());
}
