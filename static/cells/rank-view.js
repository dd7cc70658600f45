// "Rank every unit now" (in #cells-panel, under the found cells): by a regular expression (on the
// model's sample, or the user's text) or a built-in hypothesis (on the user's text),
// POST /api/models/{m}/cells. Test hooks: data-state on #cells-rank-results, data-busy on #cells-panel.

import { appStore } from "../store/app.js";
import { touches } from "../store/writable.js";
import { listHypotheses, rankUnits } from "../api/client.js";
import { isAbort } from "../api/http.js";
import { byId, element } from "../lib/dom.js";
import { pretty } from "../lib/names.js";
import { cellGroup, markCurrentRows } from "./cell-rows.js";
import { buildRankForm } from "./rank-form.js";
import { hasAnalysis } from "./stored.js";

export function mountRankView() {
  const panel = byId("cells-panel");
  const ui = buildRankForm();
  panel.append(ui.form);
  let running = null; // the AbortController of the ranking in flight

  function showError(message) {
    ui.error.textContent = message;
    ui.error.hidden = !message;
  }

  function setBusy(on) {
    ui.busy.hidden = !on;
    ui.regexGo.disabled = on;
    ui.hypGo.disabled = on;
    panel.toggleAttribute("data-busy", on);
  }

  /** Aborts the ranking in flight; `quietly` also forgets it, so it reports nothing (the model changed). */
  function cancel({ quietly = false } = {}) {
    if (!running) return;
    running.abort();
    if (quietly) {
      running = null;
      setBusy(false);
    }
  }

  /** Without a stored analysis there is no sample to rank on: "use my text" is then forced on. */
  function requireMyText(noAnalysis) {
    if (noAnalysis && !ui.myText.disabled) {
      ui.myText.dataset.choice = ui.myText.checked ? "1" : "0"; // the user's own choice, restored later
      ui.myText.checked = true;
    } else if (!noAnalysis && ui.myText.disabled) {
      ui.myText.checked = ui.myText.dataset.choice === "1";
    }
    ui.myText.disabled = noAnalysis;
    ui.myTextHint.textContent = noAnalysis ? "required: this model has no stored sample" : "otherwise the model's sample";
  }

  async function rank(body, label) {
    cancel();
    const { model } = appStore.get();
    if (!model) return;
    const controller = new AbortController();
    running = controller;
    showError("");
    setBusy(true);
    ui.results.dataset.state = "busy";
    ui.results.classList.add("stale");
    const started = performance.now();
    try {
      const cells = await rankUnits(model, body, { signal: controller.signal });
      if (controller !== running) return;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const group = cellGroup({ model, title: label, cells, name: body.hypothesis || "regex",
        description: body.regex !== undefined ? "characters inside a match count as 1" : "",
        selection: appStore.get() });
      const on = body.text !== undefined ? "on your text" : "on the model's sample";
      ui.results.replaceChildren(group, element("p", "hint", `${on} · ${seconds} s`));
      ui.results.dataset.state = "ready";
    } catch (error) {
      if (controller !== running) return;
      if (isAbort(error)) {
        ui.results.replaceChildren(element("p", "hint", "cancelled"));
        ui.results.dataset.state = "cancelled";
      } else {
        ui.results.replaceChildren();
        showError(error.message || String(error));
        ui.results.dataset.state = "error";
      }
    } finally {
      if (controller === running) {
        running = null;
        setBusy(false);
        ui.results.classList.remove("stale");
      }
    }
  }

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const pattern = ui.regex.value;
    if (!pattern) {
      showError("type a regular expression first");
      ui.regex.focus();
      return;
    }
    const body = { regex: pattern };
    if (ui.myText.checked) {
      const { text } = appStore.get();
      if (!text) { showError("the Text box is empty: type some text, or untick “use my text”"); return; }
      body.text = text;
    }
    rank(body, `regex /${pattern}/`);
  });
  ui.hypGo.addEventListener("click", () => {
    const name = ui.hyp.value;
    const { text } = appStore.get();
    if (!name) return;
    if (!text) { showError("the Text box is empty: type some text to rank on"); return; }
    rank({ hypothesis: name, text }, `${pretty(name)} (your text)`);
  });
  ui.cancel.addEventListener("click", () => cancel());

  listHypotheses().then((hypotheses) => {
    for (const h of hypotheses) {
      const opt = element("option", "", pretty(h.name));
      opt.value = h.name;
      opt.title = h.description;
      ui.hyp.append(opt);
    }
  }, (error) => showError(`could not list the hypotheses: ${error.message}`));

  appStore.subscribe(async (state, changed) => {
    if (changed.has("model") && state.model) {
      cancel({ quietly: true });
      ui.results.replaceChildren();
      ui.results.dataset.state = "empty";
      showError("");
      const model = state.model;
      const analysed = await hasAnalysis(model);
      if (appStore.get().model === model) requireMyText(!analysed);
    } else if (touches(changed, "layer", "state", "unit")) {
      markCurrentRows(ui.results, state);
    }
  });
}
