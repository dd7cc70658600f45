// Cell Explorer's page: this module only wires it. Data flows one way (docs/architecture.md):
//   user action -> store (store/*.js) -> subscribers: streams (explorer/*-stream.js) fetch and write
//   their records back into the store; views (*-view.js) redraw what changed.
// Views never import each other; the coloured-text renderers the tooltip needs are handed over here.
// Subscribers run in the order they subscribe: the text and sample views before the tooltip, which
// reads the colouring they have just set.

import { mountControls } from "./explorer/controls-view.js";
import { mountLegend } from "./explorer/legend-view.js";
import { mountErrorView } from "./explorer/error-view.js";
import { mountTextInput } from "./explorer/text-input-view.js";
import { mountTextView } from "./explorer/text-view.js";
import { mountSampleView } from "./explorer/sample-view.js";
import { mountTip } from "./explorer/tip-view.js";
import { mountLineChart } from "./explorer/line-chart-view.js";
import { mountHeatmap } from "./explorer/heatmap-view.js";
import { mountUnitCard } from "./explorer/unit-card-view.js";
import { mountModelCard } from "./explorer/model-card-view.js";
import { startTextStream } from "./explorer/text-stream.js";
import { startSampleStream } from "./explorer/sample-stream.js";
import { startExampleText } from "./explorer/example-text.js";
import { startUrlSync } from "./explorer/url-sync.js";
import { bindPageKeys } from "./explorer/keyboard.js";
import { start } from "./explorer/startup.js";
import { mountTimeline } from "./timeline/timeline-view.js";
import { mountCellsPanel } from "./cells/cells-panel-view.js";
import { mountRankView } from "./cells/rank-view.js";
import { mountUnitReport } from "./cells/unit-report-view.js";
import { mountSaturation } from "./cells/saturation-view.js";
import { mountInterventions } from "./interventions/intervention-view.js";
import { mountSteering } from "./interventions/steering-view.js";
import { mountImportance } from "./interventions/importance-view.js";
import { startInterventions } from "./interventions/intervention-stream.js";
import { mountAttribution } from "./attribution/attribution-view.js";
import { mountMemoryReach } from "./attribution/memory-view.js";
import { startAttributionStream } from "./attribution/attribution-stream.js";
import { mountMatch } from "./match/match-view.js";
import { mountMatchResults } from "./match/match-results-view.js";
import { mountCompare } from "./match/compare-view.js";
import { startMatchStream } from "./match/match-stream.js";

mountErrorView();
mountControls();
mountLegend();
mountTextInput();
const text = mountTextView();
const sample = mountSampleView();
mountTip({ text, sample });
mountLineChart();
mountHeatmap();
mountUnitCard();
mountModelCard();
mountTimeline();
mountCellsPanel();
mountRankView();
mountUnitReport();
mountSaturation();
mountInterventions();
mountSteering();
mountImportance();
mountAttribution();
mountMemoryReach();
mountMatch({ text });
mountCompare();
mountMatchResults();
startExampleText();
startTextStream();
startSampleStream();
startInterventions();
startAttributionStream();
startMatchStream();
startUrlSync();
bindPageKeys();
start();
