// What the cells panels follow: the explorer (window.cellExplorer), its selection as last notified,
// and a token per model shown, so that answers for a model no longer shown are dropped.

export const explorer = window.cellExplorer;

export let sel = { model: null }; // the explorer's selection, as last notified
export let modelToken = 0;

export const unitKey = (s) => `${s.model}/${s.layer}/${s.state}/${s.unit}`;

/** Records the explorer's new selection; returns whether the model changed (which starts a new model token). */
export function follow(next) {
  const modelChanged = next.model !== sel.model;
  sel = { ...next };
  if (modelChanged) ++modelToken;
  return modelChanged;
}
