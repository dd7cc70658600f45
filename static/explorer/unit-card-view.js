// The side column's "Selected unit" card: the unit's name and its statistics on the analysed text.

import { appStore } from "../store/app.js";
import { touches } from "../store/writable.js";
import { scaleFor } from "../lib/colours.js";
import { appendTerms, byId } from "../lib/dom.js";
import { selectionTitle } from "../lib/names.js";
import { isComplete, unitColumn } from "./stream-record.js";

export function mountUnitCard() {
  const name = byId("unit-name");
  const stats = byId("unit-stats");
  appStore.subscribe((state, changed) => {
    if (!touches(changed, "layer", "state", "unit", "textView")) return;
    name.textContent = selectionTitle(state);
    stats.replaceChildren();
    const record = state.textView;
    const ys = isComplete(record) ? unitColumn(record, state.unit) : null;
    if (!ys || !ys.length) return;
    const gate = scaleFor(record.state).domain === "unit";
    const cut = gate ? 0.5 : 0;
    let min = Infinity, max = -Infinity, sum = 0, above = 0;
    for (const y of ys) {
      if (y < min) min = y;
      if (y > max) max = y;
      sum += y;
      if (y > cut) above++;
    }
    appendTerms(stats, [
      ["min", min.toFixed(3)], ["max", max.toFixed(3)], ["mean", (sum / ys.length).toFixed(3)],
      [gate ? "open (> 0.5)" : "positive", `${((100 * above) / ys.length).toFixed(0)}% of characters`],
    ]);
  });
}
