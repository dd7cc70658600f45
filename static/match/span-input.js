// Marking a span of the coloured text: drag over it with the mouse; or, with the text focused, Shift+← / →
// from the pinned character; or, in tap mode (phones), tap its first and then its last character.
// Each finished span goes to `onSpan(start, end)` (end exclusive, in characters).

import { appStore } from "../store/app.js";
import { spanBetween } from "../lib/match.js";

function charOf(node, container) {
  const element = node && (node.nodeType === Node.TEXT_NODE ? node.parentElement : node);
  const span = element && element.closest ? element.closest(".ch") : null;
  return span && container.contains(span) && typeof span.idx === "number" ? span.idx : null;
}

/** `tapping()` says whether tap mode is on; `onTapStart(index)` reports the first tap of a pair. */
export function bindSpanInput(container, { onSpan, tapping = () => false, onTapStart = () => {} }) {
  let keyAnchor = null; // where a Shift+arrow selection started
  let tapStart = null;

  container.addEventListener("mouseup", () => {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed) return;
    const a = charOf(selection.anchorNode, container);
    const b = charOf(selection.focusNode, container);
    if (a === null || b === null) return;
    const { start, end } = spanBetween(a, b);
    // a drag that stops at the very start of a character has not selected it
    const laterOffset = b >= a ? selection.focusOffset : selection.anchorOffset;
    onSpan(start, laterOffset === 0 && end - 1 > start ? end - 1 : end);
  });

  container.addEventListener("click", (event) => {
    if (!tapping()) return;
    const index = charOf(event.target, container);
    if (index === null) return;
    if (tapStart === null) {
      tapStart = index;
      onTapStart(index);
      return;
    }
    const { start, end } = spanBetween(tapStart, index);
    tapStart = null;
    onSpan(start, end);
  });

  container.addEventListener("keydown", (event) => {
    if (!event.shiftKey || (event.key !== "ArrowLeft" && event.key !== "ArrowRight")) {
      if (event.key === "Shift") return;
      keyAnchor = null;
      return;
    }
    // caret-input.js (bound first) has just moved the pinned character: the span runs from the anchor to it
    const { caret } = appStore.get();
    if (!caret || caret.source !== "text") return;
    const step = event.key === "ArrowLeft" ? 1 : -1;
    if (keyAnchor === null) keyAnchor = caret.index + step;
    const { start, end } = spanBetween(keyAnchor, caret.index);
    onSpan(start, end);
  });
}
