// Select and match (#match-panel, LSTMVis's brush): mark a span of the coloured text and see the units on
// across it (high + or low −, against their own percentiles on the held-out sample), a threshold slider
// with the count of units that pass, and a meta track of a hypothesis under the main text. The matches
// are drawn by match-results-view.js, a unit's look-alikes in another model by compare-view.js.
// Test hooks: data-state on #match-units ("empty", "loading", "ready", "failed").

import { appStore } from "../store/app.js";
import { listHypotheses } from "../api/client.js";
import { askCompare, askMatch } from "./match-stream.js";
import { bindSpanInput } from "./span-input.js";
import { countAt, trackShades, unitLabel } from "../lib/match.js";
import { visibleChar } from "../lib/chars.js";
import { byId, checkbox, element } from "../lib/dom.js";

const HINT = "drag over a span of the coloured text (or Shift+←/→ from a pinned character; on a phone, tap mode): "
  + "which units are on across it, and where else are they?";
const LISTED = 40;

function labelled(text, control) {
  const label = element("label", "match-control", `${text} `);
  label.append(control);
  return label;
}

function numberInput(id, value, max) {
  const input = element("input");
  Object.assign(input, { type: "number", id, value: String(value), min: "0", max: String(max), step: "1" });
  input.className = "match-number";
  return input;
}

export function mountMatch({ text }) {
  const panel = byId("match-panel");
  const head = element("div", "panel-head");
  head.append(element("span", "panel-title", "Select and match"), element("span", "hint", HINT));
  const scope = element("select");
  scope.id = "match-scope";
  scope.append(new Option("every layer's h and c", "all"), new Option("the selected layer and state", "one"));
  const threshold = element("input");
  Object.assign(threshold, { type: "range", id: "match-threshold", min: "55", max: "99", step: "1", value: "70" });
  const thresholdNote = element("output", "match-threshold-note");
  thresholdNote.id = "match-threshold-note";
  const share = numberInput("match-share", 100, 100);
  share.min = "1";
  const before = numberInput("match-before", 0, 100);
  const after = numberInput("match-after", 0, 100);
  const track = element("select");
  track.id = "match-track";
  track.append(new Option("best-agreeing", ""));
  listHypotheses().then((hs) => hs.forEach((h) => track.append(new Option(h.name, h.name)))).catch(() => {});
  const { input: inText, label: inTextLabel } = checkbox("match-in-text", " search my text too", "match-control");
  const tap = element("button", "match-tap", "tap mode");
  Object.assign(tap, { type: "button", id: "match-tap" });
  tap.setAttribute("aria-pressed", "false");
  const controls = element("div", "match-controls");
  controls.append(labelled("search", scope), labelled("threshold (percentile)", threshold), thresholdNote,
    labelled("on at % of the span", share),
    labelled("off before", before), labelled("off after", after), labelled("track", track), inTextLabel, tap);
  const summary = element("p", "match-summary");
  summary.id = "match-summary";
  summary.setAttribute("aria-live", "polite");
  const units = element("ol", "match-units");
  units.id = "match-units";
  units.dataset.state = "empty";
  const others = element("select");
  others.id = "match-compare-model";
  const compareRow = element("div", "match-compare-row");
  compareRow.append(labelled("compare a unit with", others));
  panel.append(head, controls, summary, compareRow, units);
  panel.hidden = false;

  const box = byId("coloured");
  bindSpanInput(box, {
    tapping: () => tap.getAttribute("aria-pressed") === "true",
    onTapStart: (index) => { summary.textContent = `span starts at character ${index}: tap its last character`; },
    onSpan: (start, end) => {
      const state = appStore.get();
      const record = state.textView;
      if (!record || record.phase !== "done" || !state.model) return;
      askMatch({ model: state.model, text: record.chars.join(""), start, end, layer: state.layer,
        state: scope.value === "all" ? "all" : state.state, ...options() });
    },
  });
  tap.addEventListener("click", () => tap.setAttribute("aria-pressed",
    String(tap.getAttribute("aria-pressed") !== "true")));

  function options() {
    const percent = Math.min(100, Math.max(1, Number(share.value) || 100));
    return { threshold: Number(threshold.value), fraction: percent / 100, before: Number(before.value) || 0, after: Number(after.value) || 0,
      track: track.value || null, inText: inText.checked };
  }
  const again = () => {
    const ask = appStore.get().matchAsk;
    const state = appStore.get();
    if (ask) askMatch({ ...options(), state: scope.value === "all" ? "all" : state.state, layer: state.layer });
  };
  threshold.addEventListener("input", () => drawCount(appStore.get()));
  for (const control of [threshold, share, before, after, track, scope, inText]) control.addEventListener("change", again);

  function drawCount(state) {
    const view = state.matchView;
    const count = view && view.phase === "done" ? countAt(view.select.counts, Number(threshold.value)) : null;
    thresholdNote.textContent = `${threshold.value}` + (count === null ? "" : ` · ${count} units pass`);
  }

  function drawTrack(state) {
    const view = state.matchView;
    const values = view && view.phase === "done" && view.select.track ? trackShades(view.select.track.values) : [];
    for (let i = 0; i < text.rendered; i++) {
      const span = text.spanAt(i);
      const ask = state.matchAsk;
      span.classList.toggle("match-selected", Boolean(ask) && i >= ask.start && i < ask.end);
      span.style.boxShadow = values.length ? `inset 0 -3px 0 rgba(20, 20, 20, ${(values[i] || 0).toFixed(2)})` : "";
    }
  }

  function drawUnits(state) {
    const view = state.matchView;
    const ask = state.matchAsk;
    units.dataset.state = !view ? "empty" : view.phase === "done" ? "ready" : view.phase;
    if (!view || !ask) {
      units.replaceChildren();
      summary.textContent = "";
      return;
    }
    const chars = ask.text.length > 0 ? Array.from(ask.text).slice(ask.start, ask.end) : [];
    const shown = chars.map(visibleChar).join("");
    if (view.phase === "loading") {
      summary.textContent = `selecting the units on across “${shown}” and matching them… (a model's first match `
        + "reads its whole held-out sample: up to a minute)";
      return;
    }
    if (view.phase === "failed") {
      units.replaceChildren();
      summary.textContent = `could not select and match: ${view.message}`;
      return;
    }
    const { select } = view;
    if (ask.threshold === null) threshold.value = String(Math.round(select.threshold));
    summary.textContent = `${select.units.length} units on across “${shown}” (characters ${ask.start}–${ask.end - 1}) `
      + `at the ${select.threshold}th percentile (suggested ${select.suggested_threshold}); + high, − low`;
    units.replaceChildren(...select.units.slice(0, LISTED).map((unit) => {
      const li = element("li", unit.sign > 0 ? "match-unit pos" : "match-unit neg");
      li.append(element("span", "match-unit-label", unitLabel(unit)),
        element("span", "hint", ` on at ${Math.round(unit.fraction * 100)}% · strength ${unit.strength.toFixed(2)}`));
      const compare = element("button", "match-compare", "compare");
      compare.type = "button";
      compare.title = "the units of the other model whose activations correlate best with this one";
      compare.addEventListener("click", () => {
        if (others.value) askCompare({ layer: unit.layer, state: unit.state, unit: unit.unit }, others.value);
      });
      li.append(compare);
      return li;
    }));
    drawCount(state);
  }

  function drawModels(state) {
    const names = state.models.map((m) => m.name).filter((name) => name !== state.model);
    others.replaceChildren(...names.map((name) => new Option(name, name)));
  }

  appStore.subscribe((state, changed) => {
    if (changed.has("models") || changed.has("model")) drawModels(state);
    if (changed.has("matchView") || changed.has("matchAsk")) {
      drawUnits(state);
      drawTrack(state);
    }
  });
  drawModels(appStore.get());
  drawUnits(appStore.get());
}
