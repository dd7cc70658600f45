// Pure helpers of the select-and-match panel (static/match/): a selection of character spans as a span, the
// request bodies, a match's context as something render/coloured-text.js paints, the meta track's shades,
// and the sentences the panel shows.

import { codePoints } from "./chars.js";
import { scaleFor } from "./colours.js";

export const DEFAULT_MATCHES = 10;

/** The half-open span [start, end) between two character indices, in either order. */
export function spanBetween(a, b) {
  return { start: Math.min(a, b), end: Math.max(a, b) + 1 };
}

/** The count of units passing at the grid threshold nearest to `threshold` (the select answer's counts). */
export function countAt(counts, threshold) {
  let best = null;
  for (const entry of counts || []) {
    if (!best || Math.abs(entry.threshold - threshold) < Math.abs(best.threshold - threshold)) best = entry;
  }
  return best ? best.units : null;
}

/** The body of POST .../select (and .../match, with the match's own fields) for an ask of the store. */
export function selectBody(ask) {
  const body = { text: ask.text, start: ask.start, end: ask.end, state: ask.state,
    before: ask.before, after: ask.after, fraction: ask.fraction ?? 1 };
  if (ask.state !== "all") body.layer = ask.layer;
  if (ask.threshold !== null && ask.threshold !== undefined) body.threshold = ask.threshold;
  if (ask.track) body.track = ask.track;
  return body;
}

export function matchBody(ask) {
  return { ...selectBody(ask), top: DEFAULT_MATCHES, context: 40, in_text: Boolean(ask.inText) };
}

/** A record render/coloured-text.js can show: one match's context, every character received. */
export function contextRecord(serial, item) {
  const chars = codePoints(item.context);
  return { serial, chars, unknown: new Set(), received: chars.length, phase: "done", request: {} };
}

/** Colours for a match's context: the selected units' mean signed percentile, already in [-1, 1]. */
export function signalColouring(serial, values) {
  return { key: `match|${serial}`, unit: null, column: values, transform: (v) => v, norm: (x) => x };
}

/** Shades 0..1 for a meta track: a binary hypothesis as is, a numeric one scaled by its largest value. */
export function trackShades(values) {
  let top = 0;
  for (const v of values || []) if (Math.abs(v) > top) top = Math.abs(v);
  return (values || []).map((v) => (top > 0 ? Math.abs(v) / top : 0));
}

/** "layers.1.c 378 −" style label of a selected unit. */
export function unitLabel(unit) {
  return `${unit.name} ${unit.unit} ${unit.sign > 0 ? "+" : "−"}`;
}

/** Where a match lies within its context: [before, match, after] lengths in characters. */
export function matchParts(item) {
  const before = item.start - item.context_start;
  const inside = item.end - item.start;
  return [before, inside, codePoints(item.context).length - before - inside];
}

/** The sentence about the best-agreeing hypothesis, or a note that there is none. */
export function agreementSentence(answer) {
  const best = answer && answer.hypotheses && answer.hypotheses[0];
  if (!best) return "no matches: no hypothesis to compare with";
  const metric = best.metric === "auroc" ? "AUROC" : "|r|";
  const inside = best.inside === null || best.inside === undefined ? ""
    : `; ${Math.round(best.inside * 100)}% of the matched characters are inside it`;
  return `best-agreeing hypothesis over the matches: ${best.hypothesis} (${metric} ${best.score.toFixed(2)}, `
    + `sign ${best.sign > 0 ? "+" : "−"}${inside})`;
}

/** A POST /api/activations answer for one unit as a record render/coloured-text.js can show. */
export function unitRecord(serial, answer) {
  return { serial, chars: answer.chars, unknown: new Set(answer.unknown), received: answer.chars.length,
    phase: "done", request: {} };
}

/** The unit's colours on the page's fixed scale for its state (tanh(c) for a cell state). */
export function unitColouring(serial, answer) {
  return { key: `pair|${serial}|${answer.model}|${answer.name}|${answer.units[0]}`, unit: answer.units[0],
    column: answer.values.map((row) => row[0]), transform: scaleFor(answer.state).transform, norm: (x) => x };
}
