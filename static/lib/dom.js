// Small DOM helpers. Strings reach the page only through textContent, never as markup.

export const byId = (id) => document.getElementById(id);

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A checkbox with its label around it: { input, label }. */
export function checkbox(id, text, labelClass = "check") {
  const input = element("input");
  Object.assign(input, { type: "checkbox", id });
  const label = element("label", labelClass);
  label.append(input, text);
  return { input, label };
}

/** Appends a <dt>/<dd> pair per [term, value] row to a <dl>. */
export function appendTerms(dl, rows) {
  for (const [term, value] of rows) dl.append(element("dt", "", term), element("dd", "", value));
}

/** A "more (n)" / "less" button that shows or hides the list items after the first `shown`. */
export function foldButton(list, shown, total, { more, less }) {
  const button = element("button", "cells-more", more);
  button.type = "button";
  button.setAttribute("aria-expanded", "false");
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    list.querySelectorAll(":scope > li").forEach((li, k) => { if (k >= shown) li.hidden = !open; });
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? less : more;
  });
  return button;
}

/** Scrolls `container` just enough to show `node`, without moving the page. */
export function scrollIntoContainer(container, node) {
  const c = container.getBoundingClientRect();
  const r = node.getBoundingClientRect();
  if (r.top < c.top) container.scrollTop -= c.top - r.top + 8;
  else if (r.bottom > c.bottom) container.scrollTop += r.bottom - c.bottom + 8;
}
