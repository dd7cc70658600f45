// The store (static/store/): writable's change reports and ordering, and the selection rules.
import { test } from "node:test";
import assert from "node:assert/strict";
import { touches, writable } from "../../static/store/writable.js";
import { appStore, currentModel } from "../../static/store/app.js";
import { select, selectionPatch, stepUnit } from "../../static/store/selection.js";
import { clearError, reportError } from "../../static/store/errors.js";

test("set reports the keys whose value changed, and only those", () => {
  const store = writable({ a: 1, b: "x", c: null });
  const heard = [];
  store.subscribe((state, changed) => heard.push([state.a, [...changed].sort()]));
  assert.deepEqual([...store.set({ a: 2, b: "x" })], ["a"]);
  assert.deepEqual([...store.set({ a: 2 })], []);
  assert.deepEqual(heard, [[2, ["a"]]]);
  assert.equal(store.get().b, "x");
});

test("the state is replaced, never mutated", () => {
  const store = writable({ n: 0 });
  const before = store.get();
  store.set({ n: 1 });
  assert.equal(before.n, 0);
  assert.ok(Object.isFrozen(store.get()));
  assert.throws(() => { "use strict"; store.get().n = 5; }, TypeError);
});

test("subscribe returns the function that unsubscribes", () => {
  const store = writable({ n: 0 });
  let calls = 0;
  const off = store.subscribe(() => calls++);
  store.set({ n: 1 });
  off();
  store.set({ n: 2 });
  assert.equal(calls, 1);
});

test("a set made by a subscriber is announced after the current round, in order", () => {
  const store = writable({ a: 0, b: 0 });
  const heard = [];
  store.subscribe((state, changed) => {
    heard.push(`first:${[...changed]}`);
    if (changed.has("a")) store.set({ b: state.a * 10 });
  });
  store.subscribe((state, changed) => heard.push(`second:${[...changed]}:${state.b}`));
  store.set({ a: 1 });
  assert.deepEqual(heard, ["first:a", "second:a:10", "first:b", "second:b:10"]);
  assert.equal(store.get().b, 10);
});

test("a failing subscriber does not keep the others from hearing", (t) => {
  t.mock.method(console, "error", () => {});
  const store = writable({ n: 0 });
  let heard = 0;
  store.subscribe(() => { throw new Error("boom"); });
  store.subscribe(() => heard++);
  store.set({ n: 1 });
  assert.equal(heard, 1);
  assert.equal(console.error.mock.callCount(), 1);
});

test("touches says whether any of the keys changed", () => {
  assert.equal(touches(new Set(["a"]), "b", "a"), true);
  assert.equal(touches(new Set(["a"]), "b"), false);
});

const MODELS = [
  { name: "austen-lstm", arch: "lstm", layers: 2, hidden_size: 512, states: ["h", "c", "gates.i", "gates.f"] },
  { name: "tiny-gru", arch: "gru", layers: 1, hidden_size: 12, states: ["h", "gates.r", "gates.z", "gates.n"] },
];
const AT_AUSTEN = { models: MODELS, model: "austen-lstm", layer: 1, state: "c", unit: 300 };

test("a new model starts on its top layer and default state and keeps the unit where it exists", () => {
  assert.deepEqual(selectionPatch(AT_AUSTEN, { model: "tiny-gru" }).patch,
    { model: "tiny-gru", snapshot: null, layer: 0, state: "h", unit: 11 });
  assert.deepEqual(selectionPatch({ ...AT_AUSTEN, unit: 5 }, { model: "tiny-gru", state: "gates.z", unit: 7 }).patch,
    { model: "tiny-gru", snapshot: null, layer: 0, state: "gates.z", unit: 7 });
});

test("a new model starts from its final weights, not the step chosen on the last one", () => {
  assert.equal(selectionPatch({ ...AT_AUSTEN, snapshot: 1430 }, { model: "tiny-gru" }).patch.snapshot, null);
});

test("numbers are clamped to the model, names checked against it", () => {
  assert.deepEqual(selectionPatch({ ...AT_AUSTEN, layer: 0 }, { layer: 9, unit: -3 }).patch, { layer: 1, unit: 0 });
  assert.deepEqual(selectionPatch(AT_AUSTEN, { unit: "7" }).patch, { unit: 7 });
  assert.deepEqual(selectionPatch(AT_AUSTEN, { unit: "seven" }).patch, {});
  const wrongState = selectionPatch(AT_AUSTEN, { state: "gates.z" });
  assert.deepEqual(wrongState.patch, {});
  assert.match(wrongState.error, /unknown state "gates.z" for austen-lstm; valid states: h, c/);
  const wrongModel = selectionPatch(AT_AUSTEN, { model: "nope", unit: 3 });
  assert.deepEqual(wrongModel.patch, {});
  assert.match(wrongModel.error, /unknown model "nope"; available: austen-lstm, tiny-gru/);
});

test("select and stepUnit change the page's store, wrapping at the ends, and report bad names", () => {
  appStore.set({ ...AT_AUSTEN, unit: 511, error: null });
  assert.equal(currentModel(appStore.get()).name, "austen-lstm");
  stepUnit(1);
  assert.equal(appStore.get().unit, 0);
  stepUnit(-1);
  assert.equal(appStore.get().unit, 511);
  select({ state: "gates.q" });
  assert.equal(appStore.get().error.source, "selection");
  select({ unit: 4 });
  assert.equal(appStore.get().error, null);
  assert.equal(appStore.get().unit, 4);
});

test("an error is cleared only by its own source", () => {
  reportError("heatmap: boom", "heatmap");
  clearError("text");
  assert.equal(appStore.get().error.message, "heatmap: boom");
  clearError("heatmap");
  assert.equal(appStore.get().error, null);
});
