// Names shown for states, hypotheses and metrics.

export const STATE_LABELS = {
  h: "h · hidden state",
  c: "c · cell state",
  "gates.i": "gates.i · input gate",
  "gates.f": "gates.f · forget gate",
  "gates.g": "gates.g · candidate",
  "gates.o": "gates.o · output gate",
  "gates.r": "gates.r · reset gate",
  "gates.z": "gates.z · update gate",
  "gates.n": "gates.n · candidate",
};

/** The state a model opens on: the LSTM cell state where there is one (the paper's cells live there). */
export function defaultState(summary) {
  return summary.arch === "lstm" && summary.states.includes("c") ? "c" : "h";
}

/** "inside_double_quotes" -> "inside double quotes". */
export const pretty = (name) => name.replace(/_/g, " ");

export const metricLabel = (metric) => (metric === "auroc" ? "AUROC" : "|r|");

/** "layer 1 · c · unit 7", the selection as titles show it. */
export const selectionTitle = ({ layer, state, unit }) => `layer ${layer} · ${state} · unit ${unit}`;
