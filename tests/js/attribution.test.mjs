// The attribution panel's pure helpers (static/lib/attribution.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { askForCaret, effectColouring, effectScale, midranks, reachTraces, spearman, strongest, targetChoices, topState,
  windowRecord } from "../../static/lib/attribution.js";

const ANSWER = { start: 10, chars: ["a", '"', "b", "c"], effects: [0.1, 4, -0.5, 0.2], unknown: [12] };

test("windowRecord: the window's characters, unknown positions made relative to the window", () => {
  const record = windowRecord(7, ANSWER);
  assert.equal(record.serial, 7);
  assert.equal(record.received, 4);
  assert.deepEqual([...record.unknown], [2]);
});

test("effectColouring: scaled by the largest |effect|, keyed by serial and method", () => {
  const colouring = effectColouring(3, "occlusion", ANSWER.effects);
  assert.equal(colouring.key, "3|occlusion");
  assert.equal(colouring.norm(colouring.transform(4)), 1);
  assert.equal(colouring.norm(-0.5), -0.125);
  assert.equal(effectScale([0, 0]), 1);
});

test("midranks: ties share their mean rank", () => {
  assert.deepEqual(midranks([3, 1, 3, 2]), [3.5, 1, 3.5, 2]);
});

test("spearman: 1 for the same order, -1 for the reverse, null when undefined", () => {
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 45]), 1);
  assert.equal(spearman([1, 2, 3], [3, 2, 1]), -1);
  assert.equal(spearman([1, 2], [1, 2]), null);
  assert.equal(spearman([1, 1, 1], [1, 2, 3]), null);
  assert.ok(Math.abs(spearman([1, 2, 3, 4], [1, 3, 2, 4]) - 0.8) < 1e-12);
});

test("strongest: the largest effects first, with their text positions", () => {
  assert.deepEqual(strongest(ANSWER, 2), [{ position: 11, char: '"', effect: 4 }, { position: 13, char: "c", effect: 0.2 }]);
});

test("targetChoices: the actual next character first, then the predictions once each", () => {
  assert.deepEqual(targetChoices('"', [{ char: "," }, { char: '"' }, { char: " " }]), ['"', ",", " "]);
  assert.deepEqual(targetChoices(undefined, [{ char: "x" }]), ["x"]);
});

test("reachTraces: per model a median, an upper quartile and the top layer's gradient; no zeros on a log axis", () => {
  const memory = { model: "m", occlusion: { median: [2, 0], upper_quartile: [3, 1] },
    gradient: { "layers.0.h": { median: [1, 0.5] }, "layers.1.h": { median: [0.9, 0.1] }, "layers.1.c": { median: [1, 1] } } };
  const traces = reachTraces([memory]);
  assert.equal(traces.length, 3);
  assert.deepEqual(traces[0].x, [1, 2]);
  assert.deepEqual(traces[0].y, [2, null]);
  assert.equal(traces[2].name, "m layers.1.h");
  assert.equal(traces[2].yaxis, "y2");
  assert.equal(topState({}), null);
});

test("askForCaret: a pinned caret on the finished text; the top prediction where there is no next character", () => {
  const record = { meta: {}, phase: "done", received: 3, chars: ["a", "b", "\u4e00"], unknown: new Set([2]),
    model: "m", request: { snapshot: 40 }, top: [[{ char: "b" }], [{ char: "c" }, { char: "a" }], [{ char: "x" }]] };
  const caret = (index, extra = {}) => ({ source: "text", index, pinned: true, via: "pointer", ...extra });
  assert.deepEqual(askForCaret(caret(0), record), { model: "m", text: "ab\u4e00", position: 0, target: null, snapshot: 40 });
  assert.equal(askForCaret(caret(1), record).target, "c"); // the next character is outside the vocabulary
  assert.equal(askForCaret(caret(2), record).target, "x"); // the last character
  assert.equal(askForCaret(caret(0, { pinned: false }), record), null); // hovering explains nothing
  assert.equal(askForCaret(caret(0, { source: "sample" }), record), null);
  assert.equal(askForCaret(caret(0), { ...record, phase: "streaming" }), null);
  assert.equal(askForCaret(caret(2), { ...record, top: [] }), null);
});
