// The pure helpers of static/lib/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { LUT, colourFor, lutIndex, normaliser, plotlyColourscale, scaleFor, valueRange } from "../../static/lib/colours.js";
import { codePoints, countCodePoints, visibleChar } from "../../static/lib/chars.js";
import { clampInt, parseUnitList, wrapUnit } from "../../static/lib/units.js";
import { columnRanges, lineIndices, strongest } from "../../static/lib/decimate.js";
import { URL_TEXT_LIMIT, readView, unitHref, viewQuery } from "../../static/lib/page-url.js";
import { exampleFor, isExample } from "../../static/lib/examples.js";
import { groupByHypothesis, isCell, strength } from "../../static/lib/found-cells.js";
import { defaultState, pretty } from "../../static/lib/names.js";
import { fmtShare, fmtSigned, fmtValue } from "../../static/lib/format.js";

test("the colour table runs from blue through white to red", () => {
  assert.equal(LUT.length, 201);
  assert.equal(LUT[0].bg, "rgb(37, 99, 195)");
  assert.equal(LUT[100].bg, "rgb(255, 255, 255)");
  assert.equal(LUT[200].bg, "rgb(214, 45, 38)");
  assert.equal(LUT[200].dark, true);
  assert.equal(LUT[100].dark, false);
  assert.equal(lutIndex(5), 200);
  assert.equal(lutIndex(-5), 0);
  assert.equal(lutIndex(Number.NaN), 100);
});

test("each state has its scale: tanh for the cell state, [0, 1] for sigmoid gates", () => {
  assert.equal(scaleFor("c").domain, "signed");
  assert.equal(scaleFor("c").transform(1), Math.tanh(1));
  assert.equal(scaleFor("gates.f").domain, "unit");
  assert.equal(scaleFor("gates.g").domain, "signed"); // the candidate is a tanh, not a gate
  assert.equal(scaleFor("h").transform(0.3), 0.3);
  assert.equal(colourFor("c", 100).bg, LUT[200].bg);
  assert.deepEqual(plotlyColourscale("unit").map(([at]) => at), [0, 1]);
  assert.deepEqual(plotlyColourscale("signed").map(([at]) => at), [0, 0.5, 1]);
});

test("auto contrast divides a signed state by its largest |value| and stretches a gate to 0..1", () => {
  const range = valueRange([-0.2, 0.1, 0.4]);
  assert.deepEqual(range, { lo: -0.2, hi: 0.4, magnitude: 0.4 });
  assert.equal(normaliser("signed", range, true)(0.4), 1);
  assert.equal(normaliser("signed", range, false)(0.4), 0.4);
  const gate = normaliser("unit", valueRange([0.2, 0.6]), true);
  assert.ok(Math.abs(gate(0.2)) < 1e-12 && Math.abs(gate(0.6) - 1) < 1e-12);
  assert.equal(normaliser("signed", valueRange([0, 0]), true)(0), 0); // a flat unit stays white
});

test("characters are counted as the server counts them", () => {
  for (const text of ["abc", "a😀b", "😀😀", "\ud83d", "x\ud83dy", ""]) {
    assert.equal(countCodePoints(text), codePoints(text).length, JSON.stringify(text));
  }
  assert.equal(visibleChar(" "), "␣");
  assert.equal(visibleChar("\n"), "\\n");
  assert.equal(visibleChar("\u0007"), "\\u0007");
  assert.equal(visibleChar("é"), "é");
});

test("unit lists take numbers and ranges, in order, without repeats", () => {
  assert.deepEqual(parseUnitList("3, 17, 40-43 17", 64).units, [3, 17, 40, 41, 42, 43]);
  assert.deepEqual(parseUnitList("5–3", 64).units, [3, 4, 5]);
  assert.deepEqual(parseUnitList("", 12).units, Array.from({ length: 12 }, (_, k) => k));
  assert.equal(parseUnitList("", 512).units.length, 32);
  assert.equal(parseUnitList("0-1000", 2048).units.length, 128);
  assert.match(parseUnitList("3, x", 64).error, /“x” is not a unit number or range/);
  assert.match(parseUnitList("70", 64).error, /unit 70 is out of range \(0–63\)/);
  assert.match(parseUnitList(" , ", 64).error, /no units given/);
});

test("integers are clamped and units wrap", () => {
  assert.equal(clampInt("7", 0, 5, 1), 5);
  assert.equal(clampInt("x", 0, 5, 1), 1);
  assert.equal(wrapUnit(-1, 16), 15);
  assert.equal(wrapUnit(16, 16), 0);
});

test("a long line keeps every bucket's extremes, in order, within the limit", () => {
  const ys = Array.from({ length: 50_000 }, (_, i) => Math.sin(i / 37) + (i === 31_337 ? 9 : 0) - (i === 7 ? 9 : 0));
  const picked = lineIndices(ys, 4000);
  assert.ok(picked.length <= 4000);
  assert.ok(picked.every((v, k) => k === 0 || v > picked[k - 1]));
  assert.ok(picked.includes(31_337) && picked.includes(7));
  assert.deepEqual(lineIndices([1, 2, 3], 10), [0, 1, 2]);
});

test("heatmap columns cover every character once and show the strongest value", () => {
  const ranges = columnRanges(20_000, 1500);
  assert.equal(ranges.length, 1500);
  assert.equal(ranges[0][0], 0);
  assert.equal(ranges.at(-1)[1], 20_000);
  assert.ok(ranges.every(([a, b], k) => b > a && (k === 0 || a === ranges[k - 1][1])));
  assert.deepEqual(columnRanges(10, 1500).length, 10);
  const values = [0.1, -0.9, 0.5];
  assert.equal(strongest((i) => values[i], 0, 3), -0.9);
});

test("the view round-trips through the query string; long texts stay out of it", () => {
  const query = viewQuery({ model: "austen-lstm", layer: 1, state: "gates.f", unit: 7, heatUnits: " 3-5 ", text: 'Hi "you"' });
  assert.deepEqual(readView(`?${query}`), { model: "austen-lstm", layer: "1", state: "gates.f", unit: "7",
    text: 'Hi "you"', units: "3-5" });
  assert.equal(readView(`?${viewQuery({ model: "m", layer: 0, state: "h", unit: 0, text: "x".repeat(URL_TEXT_LIMIT) })}`).text,
    undefined);
  assert.equal(readView("").model, undefined);
  const href = unitHref({ pathname: "/", search: "?text=abc&unit=1" }, { model: "m", layer: 0, state: "c", unit: 9 });
  assert.deepEqual(readView(href.slice(1)), { model: "m", layer: "0", state: "c", unit: "9", text: "abc", units: undefined });
});

test("each corpus has its example, and an edited example is no longer one", () => {
  assert.match(exampleFor("austen"), /^It is a truth universally acknowledged/);
  assert.match(exampleFor("linux"), /hardlockup_detector_perf_init/);
  assert.equal(exampleFor("no such corpus"), exampleFor("austen"));
  assert.equal(isExample(exampleFor("linux")), true);
  assert.equal(isExample(exampleFor("linux") + " "), false);
});

test("hypotheses with a cell come first, strongest first; the rest keep their order", () => {
  const cells = [
    { hypothesis: "a", metric: "auroc", score: 0.92 }, { hypothesis: "a", metric: "auroc", score: 0.8 },
    { hypothesis: "b", metric: "pearson", score: 0.5 },
    { hypothesis: "c", metric: "pearson", score: 0.95 },
    { hypothesis: "d", metric: "auroc", score: 0.6 },
  ];
  const { found, rest } = groupByHypothesis(cells);
  assert.deepEqual(found.map((g) => g.name), ["c", "a"]);
  assert.deepEqual(rest.map((g) => g.name), ["b", "d"]);
  assert.equal(found[1].units.length, 2);
  assert.ok(Math.abs(strength({ metric: "auroc", score: 0.75 }) - 0.5) < 1e-12);
  assert.equal(isCell({ metric: "pearson", score: 0.7 }), true);
  assert.equal(isCell({ metric: "unknown", score: 1 }), false);
});

test("names and numbers as the page prints them", () => {
  assert.equal(defaultState({ arch: "lstm", states: ["h", "c"] }), "c");
  assert.equal(defaultState({ arch: "gru", states: ["h"] }), "h");
  assert.equal(pretty("inside_double_quotes"), "inside double quotes");
  assert.equal(fmtValue(0.5), "+0.5000");
  assert.equal(fmtSigned(-0.25), "−0.250");
  assert.equal(fmtShare(0.05), "5.0%");
  assert.equal(fmtShare(0.5), "50%");
});
