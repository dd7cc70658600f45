// Pure helpers of the attribution panel: an answer of POST /api/attribution as something
// render/coloured-text.js paints, the agreement of the two methods, the targets one can explain, and the
// memory-reach chart's traces (GET /api/models/{name}/memory).

/** A record render/coloured-text.js can show: the window's characters, all of them received. */
export function windowRecord(serial, answer) {
  return { serial, chars: answer.chars, unknown: new Set(answer.unknown.map((q) => q - answer.start)),
    received: answer.chars.length, phase: "done", request: {} };
}

/** The largest |effect|, or 1 where every effect is 0 (then everything stays white). */
export function effectScale(effects) {
  let m = 0;
  for (const e of effects) if (Number.isFinite(e) && Math.abs(e) > m) m = Math.abs(e);
  return m > 1e-12 ? m : 1;
}

/** Colours for the effects (red: the prediction depended on the character; blue: it was better without it),
 * each scaled by the answer's own largest |effect|, in the shape render/coloured-text.js paints with. */
export function effectColouring(serial, method, effects) {
  const m = effectScale(effects);
  return { key: `${serial}|${method}`, unit: null, column: effects, transform: (v) => v, norm: (x) => x / m };
}

/** Ranks 1..n of `values`, ties at their mean rank. */
export function midranks(values) {
  const order = values.map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]);
  const ranks = new Array(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    for (let k = i; k <= j; k++) ranks[order[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return ranks;
}

/** Spearman's rank correlation of two equally long lists; null for fewer than 3 pairs or a constant side. */
export function spearman(a, b) {
  if (a.length !== b.length || a.length < 3) return null;
  const ra = midranks(a), rb = midranks(b);
  const mean = (ra.length + 1) / 2;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < ra.length; i++) {
    const x = ra[i] - mean, y = rb[i] - mean;
    sab += x * y; saa += x * x; sbb += y * y;
  }
  return saa === 0 || sbb === 0 ? null : sab / Math.sqrt(saa * sbb);
}

/** The `count` characters whose occlusion costs the prediction most: [{position, char, effect}], largest first. */
export function strongest(answer, count = 3) {
  return answer.effects.map((effect, i) => ({ position: answer.start + i, char: answer.chars[i], effect }))
    .sort((a, b) => b.effect - a.effect || a.position - b.position).slice(0, count);
}

/**
 * What to explain for a pinned caret on the analysed text (a record of explorer/stream-record.js), or null
 * where there is nothing to explain: the prediction after the caret's character, of the actual next
 * character, or at the last character (or before one outside the vocabulary) of its most likely prediction.
 */
export function askForCaret(caret, record) {
  if (!caret || !caret.pinned || caret.source !== "text" || !record || !record.meta || record.phase !== "done") return null;
  const position = caret.index;
  if (position < 0 || position >= record.received) return null;
  let target = null; // the actual next character
  if (position + 1 >= record.received || record.unknown.has(position + 1)) {
    const top = record.top[position];
    if (!top || !top.length) return null;
    target = top[0].char;
  }
  return { model: record.model, text: record.chars.join(""), position, target,
    snapshot: record.request.snapshot ?? null };
}

/** The characters one can explain at a position: the actual next one (if any), then the top-k predictions. */
export function targetChoices(nextChar, predictions) {
  const out = nextChar === undefined ? [] : [nextChar];
  for (const prediction of predictions || []) if (!out.includes(prediction.char)) out.push(prediction.char);
  return out;
}

const PALETTE = ["#d62d26", "#2563c3", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];

/** The memory-reach chart: per model, the median |occlusion effect| by distance (solid) and its upper quartile
 * (dotted) on the first axes, the top layer's gradient norm on the second; log scales want values > 0. */
export function reachTraces(memories) {
  const positive = (ys) => ys.map((y) => (y > 0 ? y : null));
  const traces = [];
  memories.forEach((memory, n) => {
    const color = PALETTE[n % PALETTE.length];
    const x = memory.occlusion.median.map((_, i) => i + 1);
    const group = memory.model;
    traces.push({ x, y: positive(memory.occlusion.median), name: memory.model, legendgroup: group, mode: "lines",
      line: { color }, hovertemplate: `${memory.model}, %{x} back: median %{y:.3g} bits<extra></extra>` });
    traces.push({ x, y: positive(memory.occlusion.upper_quartile), name: `${memory.model} (upper quartile)`,
      legendgroup: group, showlegend: false, mode: "lines", line: { color, dash: "dot", width: 1 },
      hovertemplate: `${memory.model}, %{x} back: upper quartile %{y:.3g} bits<extra></extra>` });
    const top = topState(memory.gradient);
    if (top) {
      traces.push({ x, y: positive(memory.gradient[top].median), name: `${memory.model} ${top}`, legendgroup: group,
        showlegend: false, mode: "lines", line: { color }, xaxis: "x2", yaxis: "y2",
        hovertemplate: `${memory.model} ${top}, %{x} back: median %{y:.3g}<extra></extra>` });
    }
  });
  return traces;
}

/** The top layer's h among the gradient curves' state names ("layers.1.h" of layers.0.h .. layers.1.c). */
export function topState(gradient) {
  const names = Object.keys(gradient || {}).filter((name) => name.endsWith(".h"));
  names.sort((a, b) => Number(a.split(".")[1]) - Number(b.split(".")[1]));
  return names.length ? names[names.length - 1] : null;
}
