// Pure helpers for the training timeline (GET /api/models/{name}/timeline): no DOM, no fetching.

import { fmtInt } from "./format.js";

/** The step a slider position means: null for the last position (the final, shipped model). */
export function stepAt(steps, position) {
  const index = Math.max(0, Math.min(steps.length - 1, Math.round(position)));
  return index === steps.length - 1 ? null : steps[index];
}

/** The slider position of a step (null: the final model, the last position). */
export function positionOf(steps, step) {
  if (step === null || step === undefined) return steps.length - 1;
  const index = steps.indexOf(step);
  return index < 0 ? steps.length - 1 : index;
}

/** "step 1,430 · 9.2M characters seen · 2.094 bits/char" for one snapshot {step, chars_seen, val_bpc}. */
export function describeSnapshot(snapshot, isFinal) {
  const chars = snapshot.chars_seen >= 1e6 ? `${(snapshot.chars_seen / 1e6).toFixed(1)}M`
    : fmtInt.format(snapshot.chars_seen);
  const what = isFinal ? "final model, " : "";
  return `${what}step ${fmtInt.format(snapshot.step)} · ${chars} characters seen · ${snapshot.val_bpc.toFixed(3)} bits/char`;
}

const unitName = (u) => `layers.${u.layer}.${u.state}[${u.unit}]`;

/** One sentence per hypothesis: when a unit first reached the threshold and whether it is the final one. */
export function emergenceSentence(entry, thresholds) {
  const threshold = thresholds[entry.metric];
  const measure = entry.metric === "auroc" ? `AUROC ${threshold}` : `|r| ${threshold}`;
  if (!entry.emerged) return `${entry.name}: no unit reached ${measure} in any snapshot.`;
  const first = entry.emerged;
  const whose = first.is_final_unit ? "the final unit" : `not the final unit (${unitName(entry.final_unit)})`;
  let sentence = `${entry.name}: ${measure} first at step ${fmtInt.format(first.step)}, by ${unitName(first)}, ${whose}`;
  if (!first.is_final_unit && entry.final_unit_emerged !== null) {
    sentence += `; the final unit reached it at step ${fmtInt.format(entry.final_unit_emerged)}`;
  }
  return `${sentence}.`;
}

/**
 * Hypotheses worth plotting first: those a unit learnt during training (highest final score first), then
 * those some unit already tracked at the first snapshot (a random projection of the current character
 * separates characters), then those no unit ever tracked.
 */
export function orderedEntries(timeline) {
  const first = timeline.snapshots && timeline.snapshots.length ? timeline.snapshots[0].step : 0;
  const group = (entry) => (!entry.emerged ? 2 : entry.emerged.step > first ? 0 : 1);
  const last = (entry) => entry.best[entry.best.length - 1].score;
  return [...timeline.hypotheses].sort((a, b) => group(a) - group(b) || last(b) - last(a));
}

/** Plotly's log axis cannot show step 0: it is drawn at step 1 (the hover text says 0). */
export const plottedStep = (step) => Math.max(step, 1);
