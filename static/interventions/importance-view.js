// "What does this unit do?" in the intervention panel: ranks every unit of the selected layer and
// state by what its mean ablation does to the characters the user types (POST
// /api/models/{m}/importance, the estimate for all, the best few ablated exactly) and lists them;
// the selected unit's own place is said first, and a click on a row selects that unit.
// Test hooks: data-state on #iv-importance-results ("busy", "ready", "error").

import { appStore, currentModel } from "../store/app.js";
import { select } from "../store/selection.js";
import { touches } from "../store/writable.js";
import { unitImportance } from "../api/client.js";
import { isAbort } from "../api/http.js";
import { byId, checkbox, element } from "../lib/dom.js";
import { fmtValue } from "../lib/format.js";
import { charClass, ordinal, rankOf } from "../lib/interventions.js";

const CONFIRM = 5; // units ablated exactly after the estimate
const LISTED = 10;

function unitRow(entry, confirmed, answer, selection) {
  const li = element("li");
  const button = element("button", "iv-unit-row", `unit ${entry.unit}`);
  button.type = "button";
  Object.assign(button.dataset, { layer: String(answer.layer), state: answer.state, unit: String(entry.unit) });
  const exact = confirmed.get(entry.unit);
  const figures = exact ? `measured ${fmtValue(exact.effect)} bits (estimate ${fmtValue(entry.estimate)})`
    : `estimate ${fmtValue(entry.estimate)} bits`;
  button.append(element("span", "hint", ` · ${figures}`));
  button.title = "select this unit; the effect is the change of mean surprisal at the target characters minus "
    + "that at the others, were it mean-ablated everywhere";
  if (isSelected(button, selection)) button.setAttribute("aria-current", "true");
  li.append(button);
  return li;
}

function isSelected(row, s) {
  return row.dataset.layer === String(s.layer) && row.dataset.state === s.state && row.dataset.unit === String(s.unit);
}

export function mountImportance() {
  const panel = byId("interventions-panel");
  const section = element("section", "iv-importance");
  const form = element("form", "iv-importance-form");
  form.autocomplete = "off";
  const label = element("label", "", "characters ");
  const chars = element("input");
  Object.assign(chars, { type: "text", id: "iv-target-chars", value: "\"", spellcheck: false, size: 8 });
  label.append(chars);
  const { input: mine, label: mineLabel } = checkbox("iv-importance-mine",
    " on my text (otherwise the model's sample)");
  const go = element("button", "", "what does this unit do?");
  Object.assign(go, { type: "submit", id: "iv-importance-go" });
  form.append(label, mineLabel, go);
  const results = element("div", "iv-importance-results");
  results.id = "iv-importance-results";
  results.dataset.state = "empty";
  section.append(element("div", "panel-title", "Which units matter for these characters?"), form, results);
  panel.append(section);
  let running = null;

  results.addEventListener("click", (event) => {
    const row = event.target instanceof Element ? event.target.closest("button.iv-unit-row") : null;
    if (row) select({ layer: Number(row.dataset.layer), state: row.dataset.state, unit: Number(row.dataset.unit) });
  });

  function say(state, message) {
    results.dataset.state = state;
    results.replaceChildren(element("p", "hint", message));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const state = appStore.get();
    const pattern = charClass(chars.value);
    if (!state.model || !pattern) { say("error", "type the characters to rank the units for, e.g. \""); return; }
    if (running) running.abort();
    const controller = new AbortController();
    running = controller;
    const body = { target: { regex: pattern }, layer: state.layer, state: state.state, confirm: CONFIRM };
    if (mine.checked || !(currentModel(state) || {}).has_cells) body.text = state.text;
    say("busy", `ranking every unit of layer ${state.layer} ${state.state} for ${pattern}…`);
    go.disabled = true;
    try {
      const answer = await unitImportance(state.model, body, { signal: controller.signal });
      if (running !== controller) return;
      const selection = appStore.get();
      const confirmed = new Map(answer.confirmed.map((c) => [c.unit, c]));
      const place = rankOf(answer.units, state.unit);
      const head = place ? `unit ${state.unit} is ${ordinal(place.rank)} of ${place.of} for ${pattern}`
        : `unit ${state.unit} is not in this state`;
      const list = element("ol", "iv-units");
      for (const entry of answer.units.slice(0, LISTED)) list.append(unitRow(entry, confirmed, answer, selection));
      const agreement = answer.spearman === null ? "" : ` · estimate vs measured: Spearman ${answer.spearman.toFixed(2)}`;
      results.replaceChildren(element("p", "", head), list, element("p", "hint",
        `${answer.target_chars} target characters in ${answer.chars} · the first ${answer.confirmed.length} `
        + `ablated exactly${agreement}`));
      results.dataset.state = "ready";
    } catch (error) {
      if (running !== controller || isAbort(error)) return;
      say("error", error.message || String(error));
    } finally {
      if (running === controller) { running = null; go.disabled = false; }
    }
  });

  appStore.subscribe((state, changed) => {
    if (changed.has("model")) {
      if (running) running.abort();
      running = null;
      go.disabled = false;
      say("empty", "");
    } else if (touches(changed, "layer", "state", "unit")) {
      for (const row of results.querySelectorAll("button.iv-unit-row")) {
        if (isSelected(row, state)) row.setAttribute("aria-current", "true");
        else row.removeAttribute("aria-current");
      }
    }
  });
}
