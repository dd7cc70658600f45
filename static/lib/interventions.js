// What the intervention panel sends and how it paints the answer: pure functions, no DOM.

import { normaliser, scaleFor, valueRange } from "./colours.js";

export const DELTA_FULL_BITS = 2; // a change of surprisal this large (or larger) gets the strongest colour
export const OPS = ["mean", "zero", "clamp"];

const SIGMOID = new Set(["gates.i", "gates.f", "gates.o", "gates.r", "gates.z"]);

/** The clamp slider's range for a state: a gate's [0, 1], wider than the natural range elsewhere (steering). */
export function clampRange(state) {
  if (SIGMOID.has(state)) return { min: 0, max: 1, step: 0.01 };
  if (state === "c") return { min: -10, max: 10, step: 0.1 };
  return { min: -3, max: 3, step: 0.05 };
}

/**
 * The intervention on one unit as POST /api/interventions takes it: `op` zero, mean or clamp (with
 * `value`), `span` {start, end} (end exclusive) or null for every position.
 */
export function unitIntervention({ layer, state, unit }, { op, value, span }) {
  const item = { layer, state, units: [unit], op };
  if (op === "clamp") item.value = Number(value);
  if (span) Object.assign(item, { start: span.start, end: span.end });
  return item;
}

/** Two character indices (either order, both inclusive) as a span [start, end); null without both. */
export function orderedSpan(a, b) {
  if (!Number.isInteger(a) || !Number.isInteger(b)) return null;
  return { start: Math.min(a, b), end: Math.max(a, b) + 1 };
}

/** A span typed as 1-based "from" / "to" characters (both inclusive), checked against the text's length. */
export function typedSpan(from, to, length) {
  const a = Number.parseInt(from, 10), b = Number.parseInt(to, 10);
  if (!Number.isInteger(a) || !Number.isInteger(b)) return { error: "give both the first and the last character" };
  const span = orderedSpan(a - 1, b - 1);
  if (span.start < 0 || span.end > length) return { error: `characters are 1 to ${length}` };
  return { span };
}

/**
 * Per character, the change of its own surprisal: the server's delta_bits[i] is for the prediction
 * of character i + 1, so character j is painted with delta_bits[j - 1] (the first one with 0): the
 * closing quote turns red, not the character before it.
 */
export function ownDelta(deltaBits) {
  const out = new Array(deltaBits.length).fill(0);
  for (let j = 1; j < deltaBits.length; j++) out[j] = deltaBits[j - 1] ?? 0;
  return out;
}

/** The renderer's colouring (render/coloured-text.js) for the change of surprisal: red more surprised. */
export function deltaColouring(serial, deltaBits) {
  return { key: `${serial}|delta`, unit: null, column: ownDelta(deltaBits), transform: (v) => v,
    norm: (x) => x / DELTA_FULL_BITS };
}

/** The colouring for a unit's values (one column of rows), on the state's scale as the main text has it. */
export function valueColouring(serial, state, rows, autoContrast, which = "values") {
  const column = rows.map((row) => row[0]);
  const scale = scaleFor(state);
  const range = autoContrast ? valueRange(column, scale.transform) : null;
  return { key: `${serial}|${which}|${autoContrast}`, unit: null, column, transform: scale.transform,
    norm: normaliser(scale.domain, range, autoContrast) };
}

/** A record render/coloured-text.js can show: the characters of an answer so far, all of them received. */
export function staticRecord(serial, chars, unknown = [], phase = "done") {
  return { serial, chars, unknown: new Set(unknown), received: chars.length, phase, request: {} };
}

/** Mean change of surprisal over the characters, and the character whose surprisal rose most. */
export function effectSummary(chars, deltaBits) {
  const own = ownDelta(deltaBits);
  let sum = 0, worst = -1;
  for (let j = 1; j < own.length; j++) {
    sum += own[j];
    if (worst < 0 || own[j] > own[worst]) worst = j;
  }
  const mean = own.length > 1 ? sum / (own.length - 1) : 0;
  return { mean, worst: worst < 0 ? null : { index: worst, char: chars[worst], delta: own[worst] } };
}

/** A regular expression matching exactly the characters typed (each once): "\"'" -> "[\"']". */
export function charClass(chars) {
  const unique = [...new Set(Array.from(chars))];
  if (!unique.length) return "";
  return `[${unique.map((c) => (/[\\\]\[^-]/.test(c) ? `\\${c}` : c)).join("")}]`;
}

/** Where `unit` is in an importance answer's ranking: {rank (1-based), of}, or null when absent. */
export function rankOf(units, unit) {
  const k = units.findIndex((u) => u.unit === unit);
  return k < 0 ? null : { rank: k + 1, of: units.length };
}

/** "1st", "2nd", "3rd", "4th", "11th", "22nd". */
export function ordinal(n) {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${{ 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th"}`;
}
