// The page's first state: the served models (GET /api/models, the one fetch of the list), then the
// view the address names (lib/page-url.js), or the first model the server lists with its example.

import { appStore } from "../store/app.js";
import { selectionPatch } from "../store/selection.js";
import { listModels } from "../api/client.js";
import { exampleFor } from "../lib/examples.js";
import { byId } from "../lib/dom.js";
import { readView } from "../lib/page-url.js";

export async function start() {
  let models;
  try {
    models = await listModels();
  } catch (error) {
    appStore.set({ models: [], error: { message: `could not list the models: ${error.message}`, source: "models" } });
    return;
  }
  if (!models.length) {
    appStore.set({ models: [], error: { message: "No models are loaded: put trained model directories in the models folder "
      + "and restart the server.", source: "models" } });
    return;
  }
  let listed = [];
  try { listed = JSON.parse(byId("app").dataset.models || "[]"); } catch { listed = []; }
  const wanted = readView(location.search);
  let model = listed.find((name) => models.some((m) => m.name === name)) || models[0].name;
  let error = null;
  if (wanted.model !== undefined) {
    if (models.some((m) => m.name === wanted.model)) model = wanted.model;
    else error = { message: `the link names model ${JSON.stringify(wanted.model)}, which is not served; showing ${model}`,
      source: "url" };
  }
  const summary = models.find((m) => m.name === model);
  // the model first (its defaults), then what the address asks for within it
  const base = { ...appStore.get(), models };
  const first = selectionPatch(base, { model }).patch;
  const within = selectionPatch({ ...base, ...first }, { layer: wanted.layer, state: wanted.state, unit: wanted.unit });
  appStore.set({
    models, ...first, ...within.patch,
    text: wanted.text !== undefined ? wanted.text : exampleFor(summary.corpus),
    heatUnits: wanted.units ?? "",
    error,
  });
}
