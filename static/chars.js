// Characters: counted as the server counts them, shown visibly in tips and charts, and as coloured spans.

/** Characters as the server counts them (code points, not UTF-16 units). */
export function codePoints(text) {
  return Array.from(text);
}

export function visibleChar(ch) {
  if (ch === " ") return "␣"; // U+2423, in more fonts than U+2420 "␠"
  if (ch === "\n") return "\\n";
  if (ch === "\t") return "\\t";
  if (ch === "\r") return "\\r";
  const code = ch.codePointAt(0);
  if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return "\\u" + code.toString(16).padStart(4, "0");
  return ch;
}

export const CHAR_NAMES = { " ": "space", "\n": "newline", "\t": "tab", "\r": "carriage return", "\u00a0": "no-break space" };

/** Appends character i of a view to frag as a span (a newline as "↵" plus a real line break); returns the span. */
export function makeCharNodes(view, ch, i, frag) {
  const span = document.createElement("span");
  const unknown = view.unknown.size > 0 && view.unknown.has(i);
  span.idx = i;
  if (ch === "\n") {
    span.className = unknown ? "ch nl unk" : "ch nl";
    span.textContent = "↵";
    frag.appendChild(span);
    frag.appendChild(document.createTextNode("\n"));
  } else {
    span.className = unknown ? "ch unk" : "ch";
    span.textContent = ch;
    frag.appendChild(span);
  }
  return span;
}
