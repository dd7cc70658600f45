// Cell Explorer: the "found cells" panels, on top of the explorer page (window.cellExplorer).
//
// Structure (this file builds the panels, starts them and follows the explorer's selection)
//   cells-panel.js   #cells-panel (side column)       GET /api/models/{m}/cells: per hypothesis its best units
//                                                     (3 shown, "more" for 10)
//   cells-rank.js    the form in #cells-panel         rank every unit now by a regex or a built-in hypothesis
//                                                     (POST .../cells)
//   unit-panel.js    #unit-panel (main column)        GET /api/models/{m}/units/{l}/{s}/{u} for the selected unit:
//                                                     best hypotheses, gate saturation, top/bottom examples
//                                                     (unit-examples.js: the coloured contexts)
//   saturation.js    #saturation-panel (side column)  GET /api/models/{m}/saturation: Plotly scatter of every
//                                                     sigmoid gate unit (Karpathy et al. 2015, Fig. 3)
//   cell-rows.js     unit rows as links, grouped per hypothesis
//   cells-api.js     the requests and their caches;  cells-state.js  the selection followed, the model token
//   cells-dom.js     element and label helpers
//   onSelection()    follows the explorer's selection (cellexplorer:selection)
//
// Every unit row is a link with the unit in the query string (the explorer's own URL format),
// so it can be opened in a new tab or shared; a plain click selects it in place via selectUnit.
// Server and user strings reach the page only through textContent / createTextNode.
// Test hooks: data-state on #cells-panel and #cells-rank-results, data-ready / data-key on
// #unit-panel and #saturation-panel.

import { $, el } from "./cells-dom.js";
import { explorer, follow, modelToken } from "./cells-state.js";
import { refreshCurrentRows } from "./cell-rows.js";
import { buildCellsPanel, showStored } from "./cells-panel.js";
import { listHypotheses, fillHypothesisSelect, resetRank } from "./cells-rank.js";
import { buildUnitPanel, hideUnitPanel, scheduleUnitReport, followUnit, redrawUnitReport } from "./unit-panel.js";
import { buildSaturationPanel, hideSaturation, showSaturation, updateSaturationSelection } from "./saturation.js";

function onSelection(next) {
  if (!next || !next.model) return;
  if (follow(next)) {
    const token = modelToken;
    resetRank();
    hideUnitPanel();
    hideSaturation();
    showStored(next.model, token);
    showSaturation(next.model, token);
    scheduleUnitReport(0);
    return;
  }
  refreshCurrentRows();
  updateSaturationSelection();
  followUnit();
}

/** The page's #id section, or a new one after `after` (for pages without the placeholders). */
function section(id, className, after) {
  let node = $(id);
  if (!node) {
    node = el("section", className);
    node.id = id;
    after.after(node);
  }
  return node;
}

function start() {
  if (!explorer || !explorer.cellsPanel) return; // not on the explorer page
  const cells = explorer.cellsPanel;
  buildCellsPanel(cells);
  buildSaturationPanel(section("saturation-panel", "panel saturation-panel", cells));
  buildUnitPanel(section("unit-panel", "panel unit-panel", $("coloured") ? $("coloured").closest(".panel") : cells));
  const contrast = $("auto-contrast");
  if (contrast) contrast.addEventListener("change", redrawUnitReport);
  document.addEventListener("cellexplorer:selection", (event) => onSelection(event.detail));
  listHypotheses().then((map) => {
    fillHypothesisSelect(map);
    redrawUnitReport();
  });
  const now = explorer.getSelection();
  if (now && now.model) onSelection(now); // the explorer was ready before this module ran
}

start();
