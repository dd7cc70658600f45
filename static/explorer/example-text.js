// While the Text box still holds an example the user has not edited, it shows the example of the
// selected model's corpus: a Linux model reads C, not Austen.

import { appStore, currentModel } from "../store/app.js";
import { exampleFor, isExample } from "../lib/examples.js";

export function startExampleText() {
  appStore.subscribe((state, changed) => {
    if (!changed.has("model") || !isExample(state.text)) return;
    const summary = currentModel(state);
    if (summary) appStore.set({ text: exampleFor(summary.corpus) });
  });
}
