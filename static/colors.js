// The colour scale shared by the explorer's text, its tooltip and the cells panels: a
// white-centred diverging scale (blue negative, red positive) or, for sigmoid gates,
// white (closed) to red (open). No dependencies, no DOM access at import time.

export const SIGMOID_GATES = new Set(["gates.i", "gates.f", "gates.o", "gates.r", "gates.z"]);

export const NEG_RGB = [37, 99, 195];
export const POS_RGB = [214, 45, 38];

function buildLut() {
  const lut = [];
  for (let k = 0; k <= 200; k++) {
    const t = k / 100 - 1;
    const end = t < 0 ? NEG_RGB : POS_RGB;
    const a = Math.abs(t);
    const rgb = end.map((e) => Math.round(255 + (e - 255) * a));
    lut.push({ bg: `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`, dark: a > 0.6 });
  }
  return lut;
}

/** 201 colours for -1 .. +1 in steps of 0.01: {bg, dark} (dark: use white text). */
export const LUT = buildLut();

/** How a state's values become colours: a transform and a range. */
export function scaleFor(state) {
  if (state === "c") {
    return { kind: "signed", f: Math.tanh, label: "tanh(c)",
      note: "LSTM cell state, coloured by tanh(c) as in Karpathy et al. (2015): blue negative, white 0, red positive." };
  }
  if (SIGMOID_GATES.has(state)) {
    return { kind: "unit", f: (v) => v, label: state,
      note: "Sigmoid gate, values in [0, 1]: white = closed (0), red = open (1)." };
  }
  const what = state === "h" ? "Hidden state" : "Candidate (tanh)";
  return { kind: "signed", f: (v) => v, label: state,
    note: `${what}, values in [−1, 1]: blue negative, white 0, red positive.` };
}

/** Index into LUT of a (transformed, normalised) value, clamped to [-1, 1]. */
export function lutIndex(x) {
  const t = Number.isFinite(x) ? Math.max(-1, Math.min(1, x)) : 0;
  return Math.round((t + 1) * 100);
}

/** The colour of one raw value of `state` on the fixed scale (optionally normalised after the transform). */
export function colourFor(state, value, norm = (x) => x) {
  return LUT[lutIndex(norm(scaleFor(state).f(value)))];
}

/** Sets a span's background (and white text on dark colours). */
export function paint(span, entry) {
  const style = span.style;
  style.backgroundColor = entry.bg;
  if (entry.dark) style.color = "#fff";
  else if (style.color) style.color = "";
}
