// The intervention panel's pure helpers (static/lib/interventions.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { charClass, clampRange, deltaColouring, effectSummary, orderedSpan, ordinal, ownDelta, rankOf, staticRecord,
  typedSpan, unitIntervention, valueColouring } from "../../static/lib/interventions.js";

const SELECTION = { layer: 1, state: "c", unit: 378 };

test("unitIntervention: mean and zero take no value, clamp takes a number, a span becomes start and end", () => {
  assert.deepEqual(unitIntervention(SELECTION, { op: "mean", value: 2, span: null }),
    { layer: 1, state: "c", units: [378], op: "mean" });
  assert.deepEqual(unitIntervention(SELECTION, { op: "clamp", value: "-1.5", span: { start: 3, end: 9 } }),
    { layer: 1, state: "c", units: [378], op: "clamp", value: -1.5, start: 3, end: 9 });
});

test("orderedSpan: either order, both ends inclusive, end exclusive in the result", () => {
  assert.deepEqual(orderedSpan(7, 2), { start: 2, end: 8 });
  assert.deepEqual(orderedSpan(4, 4), { start: 4, end: 5 });
  assert.equal(orderedSpan(null, 4), null);
});

test("typedSpan: 1-based characters checked against the text", () => {
  assert.deepEqual(typedSpan("2", "5", 10), { span: { start: 1, end: 5 } });
  assert.match(typedSpan("0", "5", 10).error, /characters are 1 to 10/);
  assert.match(typedSpan("3", "11", 10).error, /characters are 1 to 10/);
  assert.match(typedSpan("", "4", 10).error, /both/);
});

test("ownDelta: character j gets the change of its own prediction, delta_bits[j - 1]", () => {
  assert.deepEqual(ownDelta([0.5, -1, 2, null]), [0, 0.5, -1, 2]);
});

test("deltaColouring: red for more surprised, the full colour at DELTA_FULL_BITS", () => {
  const colouring = deltaColouring(4, [4, -1, null]);
  assert.deepEqual(colouring.column, [0, 4, -1]);
  assert.equal(colouring.norm(colouring.transform(2)), 1);
  assert.ok(colouring.key.endsWith("delta"));
});

test("valueColouring: the first unit of each row, on the state's scale", () => {
  const colouring = valueColouring(4, "c", [[0.5, 9], [-2, 9]], false);
  assert.deepEqual(colouring.column, [0.5, -2]);
  assert.equal(colouring.transform(1), Math.tanh(1));
  assert.notEqual(colouring.key, valueColouring(4, "c", [[0.5]], false, "plain").key);
});

test("staticRecord: every character received, unknown positions as a set", () => {
  const record = staticRecord(2, ["a", "b"], [1]);
  assert.equal(record.received, 2);
  assert.ok(record.unknown.has(1) && record.phase === "done");
});

test("effectSummary: the mean over predicted characters and the largest rise", () => {
  const { mean, worst } = effectSummary(["a", "\"", "b"], [3, 1, null]);
  assert.equal(mean, 2);
  assert.deepEqual(worst, { index: 1, char: "\"", delta: 3 });
});

test("charClass: each typed character once, class metacharacters escaped", () => {
  assert.equal(charClass("\"\""), "[\"]");
  assert.equal(charClass("*/"), "[*/]");
  assert.equal(charClass("]-^\\"), "[\\]\\-\\^\\\\]");
  assert.equal(charClass(""), "");
});

test("clampRange: a gate's [0, 1], wider ranges for c and h", () => {
  assert.deepEqual(clampRange("gates.f"), { min: 0, max: 1, step: 0.01 });
  assert.ok(clampRange("c").max > clampRange("h").max && clampRange("h").max > 1);
});

test("rankOf and ordinal: the selected unit's place in the ranking", () => {
  const units = [{ unit: 381 }, { unit: 378 }, { unit: 86 }];
  assert.deepEqual(rankOf(units, 378), { rank: 2, of: 3 });
  assert.equal(rankOf(units, 5), null);
  assert.deepEqual([1, 2, 3, 4, 11, 12, 13, 21, 22, 101].map(ordinal),
    ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]);
});
