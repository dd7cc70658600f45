// The coloured text (#coloured), its status line and title: the analysed record painted for the
// selected unit. Test hooks: data-ready ("1" once the whole text shows the selected unit) and
// data-unit on #coloured.

import { appStore } from "../store/app.js";
import { touches } from "../store/writable.js";
import { byId, scrollIntoContainer } from "../lib/dom.js";
import { fmtInt } from "../lib/format.js";
import { selectionTitle } from "../lib/names.js";
import { createColouredText } from "../render/coloured-text.js";
import { colouringFor } from "../render/colouring.js";
import { hasEnded, unitColumn } from "./stream-record.js";
import { bindCaretInput } from "./caret-input.js";

export function mountTextView() {
  const box = byId("coloured");
  const status = byId("status");
  const title = byId("output-title");
  const seconds = new Map(); // record serial -> seconds until it was first shown whole
  const text = createColouredText(box, {
    onSlice: (record, rendered) => {
      if (!hasEnded(record) || rendered < record.received) {
        status.textContent = `colouring… ${fmtInt.format(rendered)} / ${fmtInt.format(record.length ?? 0)} characters`;
      }
    },
    onSettled: (record, colouring) => {
      if (!hasEnded(record)) return;
      if (!seconds.has(record.serial)) seconds.set(record.serial, (performance.now() - record.startedAt) / 1000);
      status.textContent = finishedStatus(record, seconds.get(record.serial));
      box.dataset.unit = String(colouring.unit);
      box.dataset.ready = colouring.unit === appStore.get().unit ? "1" : "0";
    },
  });
  let shownUnit = null;

  function draw(state) {
    const record = state.textView;
    if (!record) {
      text.clear();
      status.textContent = state.error && state.error.source === "models" ? "no models" : "type some text to colour it";
      return;
    }
    if (record.phase === "failed") {
      text.clear();
      status.textContent = "could not colour the text (see the message above)";
      return;
    }
    if (!record.meta) {
      text.sync(record, null);
      status.textContent = `colouring… 0 / ${fmtInt.format(Array.from(record.request.text).length)} characters`;
      return;
    }
    // a unit the record lacks keeps the last one shown until the refetch for it arrives
    if (unitColumn(record, state.unit)) shownUnit = state.unit;
    else if (!unitColumn(record, shownUnit)) shownUnit = record.units[0];
    text.sync(record, colouringFor(record, shownUnit, state.autoContrast));
  }

  appStore.subscribe((state, changed) => {
    if (touches(changed, "text", "unit", "layer", "state", "model", "textView")) box.dataset.ready = "0";
    if (touches(changed, "model", "layer", "state", "unit")) title.textContent = `Activations — ${selectionTitle(state)}`;
    if (touches(changed, "textView", "unit", "autoContrast", "error")) draw(state);
    if (changed.has("caret")) follow(state.caret);
  });

  function follow(caret) {
    const span = text.highlight(caret && caret.source === "text" ? caret.index : -1);
    if (span && caret.via !== "pointer") scrollIntoContainer(box, span);
  }

  bindCaretInput(box, "text");
  return text;
}

function finishedStatus(record, seconds) {
  const cached = record.units.length > 1 ? `all ${fmtInt.format(record.units.length)} units cached`
    : "one unit (text × units too large to cache all)";
  let sum = 0, count = 0;
  for (const b of record.bits) if (b !== null && Number.isFinite(b)) { sum += b; count++; }
  let message = `coloured ${fmtInt.format(record.received)} characters in ${seconds.toFixed(1)} s · ${cached}`;
  if (count) message += ` · ${(sum / count).toFixed(2)} bits/char on this text`;
  if (record.unknown.size) message += ` · ${fmtInt.format(record.unknown.size)} not in vocabulary`;
  return message;
}
