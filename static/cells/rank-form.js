// The elements of the "Rank every unit now" form (its behaviour is rank-view.js).

import { checkbox, element } from "../lib/dom.js";

function button(id, text, className = "cells-btn") {
  const node = element("button", className, text);
  node.id = id;
  node.type = "button";
  return node;
}

function row(...children) {
  const node = element("div", "cells-row");
  node.append(...children);
  return node;
}

export function buildRankForm() {
  const ui = {};
  ui.form = element("form", "cells-rank");
  ui.form.id = "cells-rank";
  ui.form.autocomplete = "off";
  const regexLabel = element("label", "cells-label", "by a regular expression");
  regexLabel.htmlFor = "cells-regex";
  ui.regex = element("input");
  Object.assign(ui.regex, { type: "text", id: "cells-regex", placeholder: 'e.g. "[^"]*" or \\bthe\\b',
    spellcheck: false, title: "Characters inside a match count as 1, all others as 0" });
  ui.regex.setAttribute("autocapitalize", "off");
  ui.regexGo = button("cells-regex-go", "Rank", "cells-btn primary");
  ui.regexGo.type = "submit";
  ui.regexGo.setAttribute("aria-label", "Rank by the regular expression");
  const { input: myText, label: checkLabel } = checkbox("cells-mytext", " use my text", "check cells-check");
  ui.myText = myText;
  ui.myTextHint = element("span", "hint", "otherwise the model's sample");
  const checkRow = row(checkLabel, ui.myTextHint);
  checkRow.classList.add("cells-checkrow");

  const hypLabel = element("label", "cells-label", "by a built-in hypothesis, on my text");
  hypLabel.htmlFor = "cells-hyp";
  ui.hyp = element("select");
  ui.hyp.id = "cells-hyp";
  ui.hypGo = button("cells-hyp-go", "Rank");
  ui.hypGo.setAttribute("aria-label", "Rank by the hypothesis");
  ui.hypGo.title = "Rank every unit against this hypothesis on the text in the Text box";

  ui.busy = element("div", "cells-busy");
  ui.busy.id = "cells-busy";
  ui.busy.hidden = true;
  ui.cancel = button("cells-cancel", "Cancel");
  ui.busy.append(element("span", "cells-spinner", "ranking…"), ui.cancel);
  ui.error = element("p", "cells-error");
  ui.error.id = "cells-rank-error";
  ui.error.setAttribute("role", "alert");
  ui.error.hidden = true;
  ui.results = element("div", "cells-results");
  ui.results.id = "cells-rank-results";
  ui.results.dataset.state = "empty";
  ui.results.setAttribute("aria-live", "polite");
  ui.form.append(element("div", "cells-sub", "Rank every unit now"), regexLabel, row(ui.regex, ui.regexGo), checkRow,
    hypLabel, row(ui.hyp, ui.hypGo), ui.busy, ui.error, ui.results);
  return ui;
}
