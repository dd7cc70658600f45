// Fewer points for long series: a chart a thousand pixels wide cannot show 50,000 points, and drawing
// them all blocks the page for a long time. Both keep the extremes, so no peak disappears.

/**
 * Indices into `ys` to draw as a line: all of them up to `limit`, otherwise the smallest and the largest
 * value of each of limit / 2 buckets, in order.
 */
export function lineIndices(ys, limit) {
  const n = ys.length;
  if (n <= limit) return Array.from({ length: n }, (_, i) => i);
  const buckets = Math.max(1, Math.floor(limit / 2));
  const size = n / buckets;
  const out = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor(b * size);
    const end = Math.min(n, Math.floor((b + 1) * size));
    if (end <= start) continue;
    let lo = start, hi = start;
    for (let i = start + 1; i < end; i++) {
      if (ys[i] < ys[lo]) lo = i;
      if (ys[i] > ys[hi]) hi = i;
    }
    if (lo === hi) out.push(lo);
    else out.push(Math.min(lo, hi), Math.max(lo, hi));
  }
  return out;
}

/**
 * The columns of a heatmap of `n` characters, at most `limit`: [start, end) ranges of characters. Each
 * cell then shows its range's value of largest magnitude (see `strongest`).
 */
export function columnRanges(n, limit) {
  const count = Math.min(n, limit);
  const size = n / count;
  return Array.from({ length: count }, (_, k) => [Math.floor(k * size), Math.floor((k + 1) * size)]);
}

/** The value of largest magnitude of f(i) over i in [start, end). */
export function strongest(f, start, end) {
  let best = f(start);
  for (let i = start + 1; i < end; i++) {
    const v = f(i);
    if (Math.abs(v) > Math.abs(best)) best = v;
  }
  return best;
}
