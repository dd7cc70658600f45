// A streamed text, as the page keeps it: the metadata line, then per character its text, its values
// for the units asked for (kept per unit: one column each), its next-character predictions and
// surprisal (the text) or its probability (a sample). Built by its stream only (text-stream.js,
// sample-stream.js), which publishes frozen views of it to the store; the arrays only ever grow.

let serials = 0;

/** source: "text" (POST /api/activations/stream) or "sample" (POST /api/sample). */
export function createRecord(source, request) {
  return {
    source, request, serial: ++serials, model: request.model, layer: request.layer, state: request.state,
    meta: null, units: [], unitIndex: new Map(), unknown: new Set(), length: null,
    chars: [], columns: [], top: [], bits: [], p: [],
    phase: "streaming", // then "done", "stopped" (a sample the user stopped) or "failed"
    startedAt: globalThis.performance ? performance.now() : Date.now(),
  };
}

/** Adds the stream's lines: the first one is the metadata, every later one a character. */
export function appendLines(record, lines) {
  let k = 0;
  if (!record.meta && lines.length) {
    const meta = lines[k++];
    record.meta = meta;
    record.units = meta.units;
    record.unitIndex = new Map(meta.units.map((u, j) => [u, j]));
    record.unknown = new Set(meta.unknown || []);
    record.layer = meta.layer;
    record.state = meta.state;
    record.length = meta.length;
    record.columns = meta.units.map(() => []);
  }
  const { columns } = record;
  for (; k < lines.length; k++) {
    const row = lines[k];
    record.chars.push(row.char);
    for (let j = 0; j < columns.length; j++) columns[j].push(row.values[j]);
    if (row.top !== undefined) record.top.push(row.top);
    if (row.bits !== undefined) record.bits.push(row.bits);
    if (row.p !== undefined) record.p.push(row.p);
  }
}

/** What the store holds: a frozen copy of the record's fields (sharing its growing arrays). */
export function frozenView(record, change = {}) {
  Object.assign(record, change);
  return Object.freeze({ ...record, received: record.chars.length });
}

/** The unit's values along the record, or null when the record does not have that unit. */
export function unitColumn(record, unit) {
  if (!record || !record.meta || !record.unitIndex.has(unit)) return null;
  return record.columns[record.unitIndex.get(unit)];
}

/** Whether the record is complete (every character received) and ready to be shown whole. */
export const isComplete = (record) => Boolean(record) && record.phase === "done";

/** Whether the stream has ended, whichever way. */
export const hasEnded = (record) => Boolean(record) && record.phase !== "streaming";
