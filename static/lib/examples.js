// The example texts the Text box starts with, one per training corpus, each taken from the held-out
// sample of a shipped model of that corpus (models/<name>/sample.txt). A model whose corpus has none
// gets the Austen one.

const EXAMPLES = {
  austen: "It is a truth universally acknowledged, that a single man in possession\n"
    + "of a good fortune, must be in want of a wife.\n"
    + "\n"
    + "\"My dear Mr. Bennet,\" said his lady to him one day, \"have you heard that\n"
    + "Netherfield Park is let at last?\"\n"
    + "\n"
    + "Mr. Bennet replied that he had not.\n"
    + "\n"
    + "\"But it is,\" returned she; \"for Mrs. Long has just been here, and she\n"
    + "told me all about it.\"",
  linux: "/**\n"
    + " * hardlockup_detector_perf_init - Probe whether NMI event is available at all\n"
    + " */\n"
    + "int __init hardlockup_detector_perf_init(void)\n"
    + "{\n"
    + "\tint ret = hardlockup_detector_event_create();\n"
    + "\n"
    + "\tif (ret) {\n"
    + "\t\tpr_info(\"Perf NMI watchdog permanently disabled\\n\");\n"
    + "\t} else {\n"
    + "\t\tperf_event_release_kernel(this_cpu_read(watchdog_ev));\n"
    + "\t\tthis_cpu_write(watchdog_ev, NULL);\n"
    + "\t}\n"
    + "\treturn ret;\n"
    + "}",
};

const DEFAULT_CORPUS = "austen";

/** The example for a model's corpus (its summary's `corpus`). */
export function exampleFor(corpus) {
  return EXAMPLES[corpus] ?? EXAMPLES[DEFAULT_CORPUS];
}

/** Whether `text` is one of the examples as it was given, not yet edited by the user. */
export function isExample(text) {
  return Object.values(EXAMPLES).includes(text);
}
