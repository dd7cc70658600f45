// The controls bar (model / layer / state / unit selectors and the model's headline stats) and the colour legend.

import { NEG_RGB, POS_RGB, scaleFor } from "./colors.js";
import { ui, fmtInt } from "./dom.js";
import { S, info } from "./state.js";

const STATE_LABELS = {
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

/** Rebuilds the layer and state options and the unit range for the selected model. */
export function fillSelectors() {
  const summary = info();
  ui.model.value = S.model;
  ui.layer.replaceChildren();
  for (let l = 0; l < summary.layers; l++) {
    const opt = document.createElement("option");
    opt.value = String(l);
    opt.textContent = l === summary.layers - 1 && summary.layers > 1 ? `${l} (top)` : String(l);
    ui.layer.appendChild(opt);
  }
  ui.state.replaceChildren();
  for (const name of summary.states) {
    const opt = document.createElement("option");
    opt.value = name;
    opt.textContent = STATE_LABELS[name] || name;
    ui.state.appendChild(opt);
  }
  ui.unit.max = String(summary.hidden_size - 1);
  ui.unitRange.textContent = `0–${summary.hidden_size - 1}`;
  renderModelStats();
}

/** Shows the selection in the controls, the titles and the legend. */
export function syncControls() {
  ui.layer.value = String(S.layer);
  ui.state.value = S.state;
  if (ui.unit.value !== String(S.unit)) ui.unit.value = String(S.unit);
  const title = `layer ${S.layer} · ${S.state} · unit ${S.unit}`;
  ui.outputTitle.textContent = `Activations — ${title}`;
  ui.lineTitle.textContent = `Unit ${S.unit} along the text`;
  updateLegend();
}

function renderModelStats() {
  const m = info();
  ui.modelStats.replaceChildren();
  if (!m) return;
  const arch = document.createElement("span");
  arch.className = "arch";
  arch.textContent = `${m.arch.toUpperCase()} · ${m.layers}×${fmtInt.format(m.hidden_size)}`;
  ui.modelStats.appendChild(arch);
  const bpc = document.createElement("span");
  bpc.className = "bpc";
  if (typeof m.test_bpc === "number") {
    const b = document.createElement("b");
    b.textContent = m.test_bpc.toFixed(3);
    bpc.append(b, " bits/char test");
    if (typeof m.ngram_test_bpc === "number") {
      const ng = document.createElement("span");
      const better = m.test_bpc < m.ngram_test_bpc;
      ng.className = better ? "vs better" : "vs worse";
      ng.textContent = ` vs ${m.ngram_test_bpc.toFixed(3)} n-gram`;
      ng.title = better ? "the model beats the Kneser-Ney n-gram baseline on the test split"
        : "the n-gram baseline does better on the test split";
      bpc.appendChild(ng);
    }
  } else {
    bpc.textContent = "test bits/char not recorded";
  }
  ui.modelStats.appendChild(bpc);
}

export function updateLegend() {
  const sc = scaleFor(S.state);
  const white = "rgb(255, 255, 255)";
  const neg = `rgb(${NEG_RGB.join(", ")})`;
  const pos = `rgb(${POS_RGB.join(", ")})`;
  const contrast = ui.autoContrast.checked;
  if (sc.kind === "unit") {
    ui.legendBar.style.background = `linear-gradient(to right, ${white}, ${pos})`;
    ui.legendMin.textContent = contrast ? "min" : "0";
    ui.legendMax.textContent = contrast ? "max" : "1";
  } else {
    ui.legendBar.style.background = `linear-gradient(to right, ${neg}, ${white}, ${pos})`;
    ui.legendMin.textContent = contrast ? "−max" : "−1";
    ui.legendMax.textContent = contrast ? "+max" : "+1";
  }
  ui.legendBar.title = sc.label;
  const stretch = sc.kind === "unit" ? "stretched from the unit's smallest to its largest value in this text"
    : "scaled by the unit's largest |value| in this text";
  ui.legendNote.textContent = sc.note + (contrast ? ` Auto contrast: ${stretch}.` : "");
}
