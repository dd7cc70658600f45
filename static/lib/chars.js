// Characters as the server counts them (code points, not UTF-16 units), and how to show invisible ones.

export function codePoints(text) {
  return Array.from(text);
}

/** How many code points `text` has, without building an array (it runs on every keystroke). */
export function countCodePoints(text) {
  let surrogatePairs = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) { surrogatePairs++; i++; }
    }
  }
  return text.length - surrogatePairs;
}

/** One character as it can be read in a tooltip or a chart label. */
export function visibleChar(ch) {
  if (ch === " ") return "␣"; // U+2423, in more fonts than U+2420 "␠"
  if (ch === "\n") return "\\n";
  if (ch === "\t") return "\\t";
  if (ch === "\r") return "\\r";
  const code = ch.codePointAt(0);
  if (code < 0x20 || (code >= 0x7f && code < 0xa0)) return "\\u" + code.toString(16).padStart(4, "0");
  return ch;
}

export const CHAR_NAMES = { " ": "space", "\n": "newline", "\t": "tab", "\r": "carriage return",
  "\u00a0": "no-break space" };

/** Stand-ins for the characters that would break a one-line context (the unit report's examples). */
export const LINE_BREAK_MARKS = { "\n": "↵", "\t": "⇥", "\r": "␍" };
