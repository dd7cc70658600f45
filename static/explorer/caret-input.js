// Pointer and keyboard on a coloured text: hovering a character inspects it, a click (or a tap) pins
// the inspection, and with the text focused (it is in the Tab order) ← → Home End move the pinned
// character. ↑ ↓ are left to the page, which steps the unit with them.

import { appStore } from "../store/app.js";

const MOVES = { ArrowLeft: -1, ArrowRight: 1 };

function charIndex(event) {
  const node = event.target;
  return node instanceof HTMLElement && node.classList.contains("ch") ? node.idx : null;
}

/** `source` is "text" or "sample": which record of the store the container shows. */
export function bindCaretInput(container, source) {
  container.tabIndex = 0;
  const caretHere = () => {
    const { caret } = appStore.get();
    return caret && caret.source === source ? caret : null;
  };
  const length = () => {
    const record = source === "text" ? appStore.get().textView : appStore.get().sampleView;
    return record ? record.received : 0;
  };
  const put = (index, pinned, via) => appStore.set({ caret: { source, index, pinned, via } });

  container.addEventListener("mouseover", (event) => {
    const index = charIndex(event);
    const { caret } = appStore.get();
    if (index === null || (caret && caret.pinned)) return;
    put(index, false, "pointer");
  });
  container.addEventListener("mouseleave", () => {
    const caret = caretHere();
    if (caret && !caret.pinned) appStore.set({ caret: null });
  });
  container.addEventListener("click", (event) => {
    const index = charIndex(event);
    if (index === null) return;
    event.stopPropagation(); // the page closes a pinned box on clicks elsewhere
    const caret = caretHere();
    if (caret && caret.pinned && caret.index === index) appStore.set({ caret: null });
    else put(index, true, "pointer");
  });
  container.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const n = length();
    if (!n) return;
    const caret = caretHere();
    let index;
    if (event.key in MOVES) {
      index = caret ? caret.index + MOVES[event.key] : 0;
    } else if (event.key === "Home") {
      index = 0;
    } else if (event.key === "End") {
      index = n - 1;
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    put(Math.max(0, Math.min(n - 1, index)), true, "keyboard");
  });
}
