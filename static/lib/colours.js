// The colour scale shared by the coloured text, its tooltip, the charts and the unit report: white-centred
// and diverging (blue negative, red positive) for signed states, or white (closed) to red (open) for
// sigmoid gates, whose values lie in [0, 1].

const SIGMOID_GATES = new Set(["gates.i", "gates.f", "gates.o", "gates.r", "gates.z"]);

export const NEG_RGB = [37, 99, 195];
export const POS_RGB = [214, 45, 38];
export const WHITE_RGB = [255, 255, 255];

export const rgb = (channels) => `rgb(${channels.join(", ")})`;

function buildLut() {
  const lut = [];
  for (let k = 0; k <= 200; k++) {
    const t = k / 100 - 1;
    const end = t < 0 ? NEG_RGB : POS_RGB;
    const a = Math.abs(t);
    lut.push({ bg: rgb(end.map((e) => Math.round(255 + (e - 255) * a))), dark: a > 0.6 });
  }
  return lut;
}

/** 201 colours for -1 .. +1 in steps of 0.01: {bg, dark} (dark: the text on it should be white). */
export const LUT = buildLut();

/**
 * How a state's values become colours: `transform` maps a raw value onto the scale, whose `domain` is
 * "signed" ([-1, 1], white at 0) or "unit" ([0, 1], white at 0).
 */
export function scaleFor(state) {
  if (state === "c") {
    return { domain: "signed", transform: Math.tanh, label: "tanh(c)",
      note: "LSTM cell state, coloured by tanh(c) as in Karpathy et al. (2015): blue negative, white 0, red positive." };
  }
  if (SIGMOID_GATES.has(state)) {
    return { domain: "unit", transform: (v) => v, label: state,
      note: "Sigmoid gate, values in [0, 1]: white = closed (0), red = open (1)." };
  }
  const what = state === "h" ? "Hidden state" : "Candidate (tanh)";
  return { domain: "signed", transform: (v) => v, label: state,
    note: `${what}, values in [−1, 1]: blue negative, white 0, red positive.` };
}

/** Index into LUT of a (transformed, normalised) value, clamped to [-1, 1]. */
export function lutIndex(x) {
  const t = Number.isFinite(x) ? Math.max(-1, Math.min(1, x)) : 0;
  return Math.round((t + 1) * 100);
}

/** The smallest, the largest and the largest absolute value of `values` after `transform`. */
export function valueRange(values, transform = (v) => v) {
  let lo = Infinity, hi = -Infinity, magnitude = 0;
  for (const v of values) {
    const x = transform(v);
    if (x < lo) lo = x;
    if (x > hi) hi = x;
    if (Math.abs(x) > magnitude) magnitude = Math.abs(x);
  }
  return { lo, hi, magnitude };
}

/**
 * Maps a transformed value onto the colour table. The fixed scale leaves it as it is; auto contrast
 * divides a signed state by its largest |value| and stretches a gate from its min..max to 0..1.
 */
export function normaliser(domain, range, autoContrast) {
  if (!autoContrast || !range) return (x) => x;
  if (domain === "unit") {
    const lo = Number.isFinite(range.lo) ? range.lo : 0;
    const span = range.hi - lo > 1e-9 ? range.hi - lo : 1;
    return (x) => (x - lo) / span;
  }
  const m = range.magnitude > 1e-9 ? range.magnitude : 1;
  return (x) => x / m;
}

/** The colour of one raw value of `state` (optionally normalised after the transform). */
export function colourFor(state, value, norm = (x) => x) {
  return LUT[lutIndex(norm(scaleFor(state).transform(value)))];
}

/** Plotly's colour scale for a domain, matching LUT's end points. */
export function plotlyColourscale(domain) {
  const white = rgb(WHITE_RGB);
  return domain === "unit" ? [[0, white], [1, rgb(POS_RGB)]]
    : [[0, rgb(NEG_RGB)], [0.5, white], [1, rgb(POS_RGB)]];
}

/** Sets an element's background to a LUT entry (and white text on the dark ones). */
export function paint(node, entry) {
  const style = node.style;
  style.backgroundColor = entry.bg;
  if (entry.dark) style.color = "#fff";
  else if (style.color) style.color = "";
}
