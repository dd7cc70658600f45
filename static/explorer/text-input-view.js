// The Text box and its character count. Typing sets the store's text (text-stream.js colours it);
// the box follows the store when the text is set from elsewhere (the URL, a model's example).

import { appStore } from "../store/app.js";
import { touches } from "../store/writable.js";
import { byId } from "../lib/dom.js";
import { countCodePoints } from "../lib/chars.js";
import { fmtInt } from "../lib/format.js";

export function mountTextInput() {
  const box = byId("text");
  const count = byId("text-count");
  let countFrame = 0;
  box.addEventListener("input", () => appStore.set({ text: box.value }));
  appStore.subscribe((state, changed) => {
    if (!touches(changed, "model", "text")) return;
    if (box.value !== state.text) box.value = state.text;
    // once per frame: a paste or a test's fill can fire an input event per line
    if (!countFrame) {
      countFrame = requestAnimationFrame(() => {
        countFrame = 0;
        count.textContent = `${fmtInt.format(countCodePoints(appStore.get().text))} characters`;
      });
    }
  });
}
