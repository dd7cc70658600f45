// The colour legend above the coloured text: the scale of the selected state, fixed or auto contrast.

import { appStore } from "../store/app.js";
import { touches } from "../store/writable.js";
import { NEG_RGB, POS_RGB, WHITE_RGB, rgb, scaleFor } from "../lib/colours.js";
import { byId } from "../lib/dom.js";

export function mountLegend() {
  const bar = byId("legend-bar");
  const min = byId("legend-min");
  const max = byId("legend-max");
  const note = byId("legend-note");
  appStore.subscribe((state, changed) => {
    if (!touches(changed, "model", "state", "autoContrast")) return; // model: the first draw
    const scale = scaleFor(state.state);
    const contrast = state.autoContrast;
    const white = rgb(WHITE_RGB);
    if (scale.domain === "unit") {
      bar.style.background = `linear-gradient(to right, ${white}, ${rgb(POS_RGB)})`;
      min.textContent = contrast ? "min" : "0";
      max.textContent = contrast ? "max" : "1";
    } else {
      bar.style.background = `linear-gradient(to right, ${rgb(NEG_RGB)}, ${white}, ${rgb(POS_RGB)})`;
      min.textContent = contrast ? "−max" : "−1";
      max.textContent = contrast ? "+max" : "+1";
    }
    bar.title = scale.label;
    const stretch = scale.domain === "unit" ? "stretched from the unit's smallest to its largest value in this text"
      : "scaled by the unit's largest |value| in this text";
    note.textContent = scale.note + (contrast ? ` Auto contrast: ${stretch}.` : "");
  });
}
