// A streamed record shown as one coloured <span class="ch"> per character, rendered and repainted in
// slices between frames (lib/slices.js), so that 50,000 characters never block the page.
//
// The spans live in blocks of about CHUNK_CHARS characters that end at a newline: each block is its
// own inline formatting context, so the browser lays out only the block that grew, not the whole
// text, and `content-visibility: auto` (css/explorer.css) lets it skip the blocks out of sight.
// A newline is shown as "↵" plus a real line break; span.idx is the character's index.

import { LUT, lutIndex, paint } from "../lib/colours.js";
import { element } from "../lib/dom.js";
import { runSliced } from "../lib/slices.js";

const CHUNK_CHARS = 800;
const CHECK_EVERY = 64; // spans between two looks at the clock

/**
 * `onSettled(record, colouring)` is called once everything received is rendered and painted with the
 * latest colouring; `onSlice(record, rendered)` after every slice; `prefix(record)` may give a node to
 * show before the first character (a sample's prime); `follow` keeps the end in view (a sample).
 */
export function createColouredText(container, { onSettled = () => {}, onSlice = () => {},
  prefix = () => null, follow = false } = {}) {
  let record = null; // the record shown (or about to be: its first slice replaces the old spans)
  let cleared = false;
  let spans = [];
  let chunk = null;
  let chunkChars = 0;
  let colouring = null; // {key, column, transform, norm}: what the spans should be painted with
  let paintedKey = null; // the colouring the first `repainted` spans have
  let repainted = 0;
  let job = null;
  let highlighted = null;

  function clear() {
    container.replaceChildren();
    container.classList.remove("stale");
    spans = [];
    chunk = null;
    chunkChars = 0;
    repainted = 0;
    highlighted = null;
    cleared = true;
    const head = prefix(record);
    if (head) newChunk().append(head);
  }

  function newChunk() {
    chunk = element("span", "chunk");
    chunkChars = 0;
    container.append(chunk);
    return chunk;
  }

  function colourOf(i) {
    const { column, transform, norm } = colouring;
    return LUT[lutIndex(norm(transform(column[i])))];
  }

  function appendSpan(i) {
    if (!chunk) newChunk();
    const ch = record.chars[i];
    const span = document.createElement("span");
    const unknown = record.unknown.size > 0 && record.unknown.has(i);
    span.idx = i;
    span.className = ch === "\n" ? (unknown ? "ch nl unk" : "ch nl") : (unknown ? "ch unk" : "ch");
    span.textContent = ch === "\n" ? "↵" : ch;
    paint(span, colourOf(i));
    chunk.append(span);
    spans.push(span);
    chunkChars++;
    if (ch === "\n") {
      chunk.append("\n");
      if (chunkChars >= CHUNK_CHARS) chunk = null;
    }
  }

  function pending() {
    return Boolean(record) && (spans.length < record.received || paintedKey !== colouring.key
      || repainted < spans.length);
  }

  function slice(timeLeft) {
    if (!cleared) clear();
    let n = 0;
    // repaint what is already shown first (a unit change), then add what has arrived since
    if (paintedKey !== colouring.key) { paintedKey = colouring.key; repainted = 0; }
    while (repainted < spans.length) {
      paint(spans[repainted], colourOf(repainted));
      repainted++;
      if (++n % CHECK_EVERY === 0 && timeLeft() <= 0) return finishSlice(false);
    }
    while (spans.length < record.received) {
      appendSpan(spans.length);
      repainted = spans.length;
      if (++n % CHECK_EVERY === 0 && timeLeft() <= 0) return finishSlice(false);
    }
    return finishSlice(true);
  }

  function finishSlice(done) {
    if (follow) container.scrollTop = container.scrollHeight;
    onSlice(record, spans.length);
    if (done) {
      job = null;
      onSettled(record, colouring);
    }
    return done;
  }

  return {
    /** Shows `next` (a record snapshot) painted with `nextColouring`; the work happens in slices. */
    sync(next, nextColouring) {
      if (!next) {
        if (job) job.cancel();
        job = null;
        record = null;
        container.replaceChildren();
        container.classList.remove("stale");
        spans = [];
        return;
      }
      if (!record || next.serial !== record.serial) {
        if (job) job.cancel();
        job = null;
        cleared = false; // the old text stays, faded, until the new one has characters
        container.classList.add("stale");
        paintedKey = null;
      }
      record = next;
      if (!nextColouring) return; // no metadata yet: nothing to paint with
      colouring = nextColouring;
      if (!cleared && next.received === 0 && next.phase === "streaming") return;
      if (!job && (pending() || !cleared)) job = runSliced(slice);
      else if (!job) onSettled(record, colouring);
    },
    /** Forgets the record shown and leaves the container empty (a failed stream). */
    clear() {
      this.sync(null);
    },
    spanAt: (i) => (i >= 0 && i < spans.length ? spans[i] : null),
    /** Outlines character i (or none for -1); returns its span. */
    highlight(i) {
      const span = i >= 0 && i < spans.length ? spans[i] : null;
      if (highlighted === span) return span;
      if (highlighted) highlighted.classList.remove("hl");
      highlighted = span;
      if (span) span.classList.add("hl");
      return span;
    },
    get rendered() {
      return spans.length;
    },
    /** The colouring the spans are (being) painted with, for the tooltip's swatch. */
    get colouring() {
      return colouring;
    },
  };
}
