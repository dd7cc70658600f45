// How a record's characters are coloured for one unit: its column of values, the state's transform
// and the normaliser (fixed scale or auto contrast). The key changes exactly when every character's
// colour may change, so a renderer repaints only then.

import { normaliser, scaleFor, valueRange } from "../lib/colours.js";

/**
 * `range` is measured while auto contrast is on; during a stream it keeps growing, so the key only
 * includes it once the stream has ended (one repaint at the end, not one per network read).
 */
export function colouringFor(record, unit, autoContrast) {
  const column = record.columns[record.unitIndex.get(unit)];
  const scale = scaleFor(record.state);
  const range = autoContrast ? valueRange(column, scale.transform) : null;
  const settledRange = range && record.phase !== "streaming" ? `${range.lo}:${range.hi}:${range.magnitude}` : "";
  return {
    key: `${record.serial}|${unit}|${autoContrast}|${settledRange}`,
    unit, column, scale, transform: scale.transform,
    norm: normaliser(scale.domain, range, autoContrast),
  };
}
