// Which hypotheses have a cell: a single unit whose score reaches the threshold that
// app/cells/timeline.py uses for "the cell has emerged" (AUROC 0.9, |r| 0.7).

export const CELL_THRESHOLDS = { auroc: 0.9, pearson: 0.7 };

/** A score on one scale for both metrics, 0 (chance) to 1 (perfect), as the unit report's bars show it. */
export function strength({ metric, score }) {
  return metric === "auroc" ? Math.max(0, (score - 0.5) * 2) : Math.max(0, score);
}

export const isCell = ({ metric, score }) => score >= (CELL_THRESHOLDS[metric] ?? Infinity);

/**
 * The stored ranking (best units per hypothesis, best first) grouped per hypothesis: `found`, those
 * whose best unit is a cell, strongest first; `rest`, the others in the order given.
 */
export function groupByHypothesis(cells) {
  const groups = new Map();
  for (const cell of cells) {
    if (!groups.has(cell.hypothesis)) groups.set(cell.hypothesis, []);
    groups.get(cell.hypothesis).push(cell);
  }
  const found = [];
  const rest = [];
  for (const [name, units] of groups) {
    const best = units.reduce((a, b) => (strength(b) > strength(a) ? b : a));
    (isCell(best) ? found : rest).push({ name, units, best });
  }
  found.sort((a, b) => strength(b.best) - strength(a.best));
  return { found, rest };
}
