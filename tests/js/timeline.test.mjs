// The training timeline's pure helpers (static/lib/timeline.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeSnapshot, emergenceSentence, orderedEntries, plottedStep, positionOf, stepAt } from "../../static/lib/timeline.js";

const STEPS = [0, 25, 1430, 9000];

test("the last slider position is the final model", () => {
  assert.equal(stepAt(STEPS, 3), null);
  assert.equal(stepAt(STEPS, 1), 25);
});

test("slider positions outside the range are clamped", () => {
  assert.equal(stepAt(STEPS, -4), 0);
  assert.equal(stepAt(STEPS, 99), null);
});

test("a step's position round-trips, the final model sits last", () => {
  assert.equal(positionOf(STEPS, 1430), 2);
  assert.equal(positionOf(STEPS, null), 3);
  assert.equal(positionOf(STEPS, 7), 3);
});

test("a snapshot is described by its step, characters seen and bits/char", () => {
  assert.equal(describeSnapshot({ step: 1430, chars_seen: 9152000, val_bpc: 2.0941 }, false),
    "step 1,430 · 9.2M characters seen · 2.094 bits/char");
  assert.match(describeSnapshot({ step: 9000, chars_seen: 57600000, val_bpc: 1.68 }, true), /^final model, step 9,000/);
});

const entry = (name, emerged, last, finalEmerged = null) => ({
  name, metric: "auroc", emerged, final_unit_emerged: finalEmerged,
  final_unit: { layer: 1, state: "c", unit: 150, sign: 1 }, best: [{ score: 0.5 }, { score: last }],
});

test("the sentence names the step, the unit and whether it is the final one", () => {
  const quote = entry("inside_double_quotes", { step: 1430, layer: 1, state: "c", unit: 150, is_final_unit: true }, 0.99, 1430);
  assert.equal(emergenceSentence(quote, { auroc: 0.9 }),
    "inside_double_quotes: AUROC 0.9 first at step 1,430, by layers.1.c[150], the final unit.");
});

test("a unit that lost the job to another is said so, with when the final unit caught up", () => {
  const moved = entry("word_start", { step: 157, layer: 1, state: "gates.f", unit: 121, is_final_unit: false }, 0.99, 2985);
  assert.match(emergenceSentence(moved, { auroc: 0.9 }), /not the final unit \(layers\.1\.c\[150\]\); the final unit reached it at step 2,985\.$/);
});

test("a hypothesis nothing learnt says so", () => {
  assert.equal(emergenceSentence(entry("paren_depth", null, 0.1), { auroc: 0.9 }),
    "paren_depth: no unit reached AUROC 0.9 in any snapshot.");
});

test("hypotheses learnt during training come first, then those present at the start, then the rest", () => {
  const timeline = { snapshots: [{ step: 0 }], hypotheses: [entry("never", null, 0.99), entry("at-start", { step: 0 }, 1.0),
    entry("weaker", { step: 1 }, 0.8), entry("stronger", { step: 2 }, 0.95)] };
  assert.deepEqual(orderedEntries(timeline).map((e) => e.name), ["stronger", "weaker", "at-start", "never"]);
});

test("step 0 is drawn at step 1 on the log axis", () => {
  assert.equal(plottedStep(0), 1);
  assert.equal(plottedStep(25), 25);
});
