// Streams without a browser: NDJSON lines (with the server's error line), the record they build, and
// long work cut into slices.
import { test } from "node:test";
import assert from "node:assert/strict";
import { StreamError, parseLines } from "../../static/api/http.js";
import { appendLines, createRecord, frozenView, unitColumn } from "../../static/explorer/stream-record.js";
import { runSliced } from "../../static/lib/slices.js";

test("complete lines are parsed, the unfinished rest is kept", () => {
  const { lines, rest } = parseLines('{"a":1}\n\n{"b":2}\n{"c"');
  assert.deepEqual(lines, [{ a: 1 }, { b: 2 }]);
  assert.equal(rest, '{"c"');
});

test("an error line inside the stream becomes a StreamError with the server's message", () => {
  assert.throws(() => parseLines('{"model":"m"}\n{"error":"internal error: RuntimeError"}\n'),
    (error) => error instanceof StreamError && error.message === "internal error: RuntimeError");
});

test("a record keeps one column per unit", () => {
  const record = createRecord("text", { model: "m", text: "ab", layer: 1, state: "c" });
  appendLines(record, [{ model: "m", layer: 1, state: "c", units: [3, 5], length: 2, unknown: [1] },
    { i: 0, char: "a", values: [0.1, 0.2], top: [], bits: 1.5 }]);
  appendLines(record, [{ i: 1, char: "b", values: [0.3, 0.4], top: [], bits: null }]);
  const view = frozenView(record, { phase: "done" });
  assert.equal(view.received, 2);
  assert.deepEqual(unitColumn(view, 5), [0.2, 0.4]);
  assert.equal(unitColumn(view, 4), null);
  assert.ok(view.unknown.has(1));
  assert.ok(Object.isFrozen(view));
  assert.notEqual(createRecord("text", { model: "m" }).serial, record.serial);
});

test("sliced work stops each slice when its time is up and runs until it is done", async () => {
  let clock = 0;
  const now = () => clock;
  let done = 0;
  const slices = [];
  await new Promise((resolve) => {
    runSliced((timeLeft) => {
      let n = 0;
      while (done < 100 && timeLeft() > 0) { done++; n++; clock += 1; }
      slices.push(n);
      if (done === 100) resolve();
      return done === 100;
    }, { budgetMs: 8, now });
  });
  assert.equal(done, 100);
  assert.ok(slices.every((n) => n <= 8));
  assert.equal(slices.length, Math.ceil(100 / 8));
});

test("cancelled sliced work runs no further slice", async () => {
  let runs = 0;
  const job = runSliced(() => { runs++; return false; });
  await new Promise((resolve) => setTimeout(resolve, 20));
  job.cancel();
  const after = runs;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(after >= 1);
  assert.equal(runs, after);
});
