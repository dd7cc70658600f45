// The page's own keys: ← → ↑ ↓ step the unit (outside text entry), Escape closes the character box;
// a click outside a pinned box closes it too.

import { appStore } from "../store/app.js";
import { stepUnit } from "../store/selection.js";

const STEPS = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 };
const NOT_TEXT_ENTRY = new Set(["checkbox", "radio", "button", "submit"]); // a range slider keeps its arrows

function isTextEntry(node) {
  if (!(node instanceof HTMLElement)) return false;
  if (node.isContentEditable || node.tagName === "TEXTAREA" || node.tagName === "SELECT") return true;
  return node.tagName === "INPUT" && !NOT_TEXT_ENTRY.has(node.type);
}

export function bindPageKeys() {
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      appStore.set({ caret: null });
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey || isTextEntry(event.target)) return;
    const delta = STEPS[event.key];
    if (!delta) return;
    event.preventDefault();
    stepUnit(delta);
  });
  document.addEventListener("click", (event) => {
    const { caret } = appStore.get();
    const inTip = event.target instanceof Element && event.target.closest("#tip");
    if (caret && caret.pinned && !inTip) appStore.set({ caret: null });
  });
}
