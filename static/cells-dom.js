// Element and label helpers shared by the cells panels. Strings reach the page only through textContent.

export const $ = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export const pretty = (name) => name.replace(/_/g, " ");
export const metricLabel = (metric) => (metric === "auroc" ? "AUROC" : "|r|");
