// The unit report's direct output effect (top layer's h only): the next characters whose logits
// the unit raises and lowers most through the output layer, per unit of activation.
// Test hook: the block's data-kind="direct".

import { CHAR_NAMES, visibleChar } from "../lib/chars.js";
import { element } from "../lib/dom.js";
import { fmtSigned } from "../lib/format.js";

export function directBlock(effect) {
  const block = element("div", "ur-direct");
  block.dataset.kind = "direct";
  block.title = "change of the next character's logit per unit of this unit's activation, through the "
    + "output layer only (not through later steps)";
  block.append(element("div", "cells-sub", "Direct output effect"),
    directRow("raises", effect.raises), directRow("lowers", effect.lowers));
  return block;
}

function directRow(label, entries) {
  const row = element("div", "ur-direct-row");
  row.append(element("span", "hint", `${label} `));
  for (const { char, logit } of entries) {
    const chip = element("span", "ur-direct-char", visibleChar(char));
    chip.title = `${CHAR_NAMES[char] || JSON.stringify(char)}: ${fmtSigned(logit)} logit per unit`;
    row.append(chip, element("span", "hint", ` ${fmtSigned(logit)}  `));
  }
  return row;
}
