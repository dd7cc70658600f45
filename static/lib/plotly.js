// What every Plotly chart of the page shares. Plotly itself is the vendored /vendor/plotly.min.js.

export const PLOT_CONFIG = { displaylogo: false, responsive: true,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toImage"] };

export const PLOT_FONT = { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 11,
  color: "#374151" };

/** Plotly, or null before its deferred script has run (or where it failed to load). */
export const plotly = () => globalThis.Plotly || null;

/** The first point of a Plotly event, or null. */
export const firstPoint = (event) => (event && event.points && event.points[0]) || null;
