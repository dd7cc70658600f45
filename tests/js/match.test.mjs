// The select-and-match panel's pure helpers (static/lib/match.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { agreementSentence, contextRecord, countAt, matchBody, matchParts, selectBody, signalColouring, spanBetween,
  trackShades, unitColouring, unitLabel, unitRecord } from "../../static/lib/match.js";

const ASK = { text: '"My dear," he said', start: 1, end: 8, state: "all", layer: 1, threshold: 70, before: 0,
  after: 2, track: null };

test("spanBetween: half-open, whichever way the drag went", () => {
  assert.deepEqual(spanBetween(3, 7), { start: 3, end: 8 });
  assert.deepEqual(spanBetween(7, 3), { start: 3, end: 8 });
  assert.deepEqual(spanBetween(4, 4), { start: 4, end: 5 });
});

test("countAt: the nearest threshold of the grid, null without counts", () => {
  const counts = [{ threshold: 60, units: 30 }, { threshold: 70, units: 12 }, { threshold: 80, units: 4 }];
  assert.equal(countAt(counts, 71), 12);
  assert.equal(countAt(counts, 78), 4);
  assert.equal(countAt([], 70), null);
});

test("selectBody: no layer when every layer is searched, no track unless chosen", () => {
  const body = selectBody(ASK);
  assert.equal(body.layer, undefined);
  assert.equal(body.track, undefined);
  assert.equal(body.threshold, 70);
  assert.equal(selectBody({ ...ASK, state: "c" }).layer, 1);
  assert.equal(selectBody({ ...ASK, track: "inside_double_quotes" }).track, "inside_double_quotes");
});

test("matchBody: the select body plus how many matches and how much context", () => {
  const body = matchBody(ASK);
  assert.equal(body.top, 10);
  assert.equal(body.context, 40);
  assert.equal(body.start, 1);
  assert.equal(body.in_text, false);
  assert.equal(matchBody({ ...ASK, inText: true }).in_text, true);
});

test("contextRecord and matchParts: the context in code points, the match within it", () => {
  const item = { context: "ab\u{1F600}cde", context_start: 10, start: 12, end: 14, values: [0, 0, 1, 1, 0, 0] };
  const record = contextRecord(5, item);
  assert.equal(record.received, 6);
  assert.deepEqual(matchParts(item), [2, 2, 2]);
  const colouring = signalColouring(5, item.values);
  assert.equal(colouring.norm(colouring.transform(1)), 1);
});

test("trackShades: binary as is, numeric scaled by its largest value", () => {
  assert.deepEqual(trackShades([0, 1, 1]), [0, 1, 1]);
  assert.deepEqual(trackShades([0, 2, 4]), [0, 0.5, 1]);
  assert.deepEqual(trackShades(null), []);
});

test("unitLabel: name, unit and sign", () => {
  assert.equal(unitLabel({ name: "layers.1.c", unit: 378, sign: -1 }), "layers.1.c 378 −");
});

test("agreementSentence: the best hypothesis with its metric, or why there is none", () => {
  const answer = { hypotheses: [{ hypothesis: "inside_double_quotes", metric: "auroc", score: 0.93, sign: -1,
    inside: 0.9 }] };
  assert.match(agreementSentence(answer), /inside_double_quotes \(AUROC 0.93, sign −; 90% of the matched/);
  assert.match(agreementSentence({ hypotheses: [] }), /no matches/);
});

test("unitRecord and unitColouring: one unit's activations on the page's fixed scale", () => {
  const answer = { model: "m", name: "layers.1.c", state: "c", units: [7], chars: ["a", "b"], unknown: [1],
    values: [[0.5], [-2]] };
  const record = unitRecord(3, answer);
  assert.equal(record.received, 2);
  assert.deepEqual([...record.unknown], [1]);
  const colouring = unitColouring(3, answer);
  assert.deepEqual(colouring.column, [0.5, -2]);
  assert.equal(colouring.transform(-2), Math.tanh(-2));
  assert.equal(colouring.key, "pair|3|m|layers.1.c|7");
});
