// Numbers typed by the user: unit indices, clamped integers and the heatmap's unit list.

export const HEAT_DEFAULT_UNITS = 32;
export const HEAT_MAX_UNITS = 128;

export function clampInt(value, lo, hi, fallback) {
  const n = Number.parseInt(value, 10);
  if (!Number.isFinite(n)) return fallback;
  return Math.min(hi, Math.max(lo, n));
}

/** Wraps a unit index into 0 .. count - 1 (stepping past the last unit comes back to the first). */
export function wrapUnit(unit, count) {
  return ((unit % count) + count) % count;
}

/**
 * "3, 17, 40-47" -> {units: [3, 17, 40, ..., 47]} (in order, no repeats, at most HEAT_MAX_UNITS), or
 * {error} naming the first token that is not a unit of a layer with `count` units. Empty -> the first 32.
 */
export function parseUnitList(spec, count) {
  const trimmed = spec.trim();
  if (!trimmed) return { units: Array.from({ length: Math.min(HEAT_DEFAULT_UNITS, count) }, (_, k) => k) };
  const units = [];
  const seen = new Set();
  for (const token of trimmed.split(/[\s,;]+/).filter(Boolean)) {
    const range = token.match(/^(\d+)\s*[-–]\s*(\d+)$/);
    let lo, hi;
    if (range) { lo = Number(range[1]); hi = Number(range[2]); }
    else if (/^\d+$/.test(token)) { lo = hi = Number(token); }
    else return { error: `“${token}” is not a unit number or range` };
    if (hi < lo) [lo, hi] = [hi, lo];
    if (hi >= count) return { error: `unit ${hi} is out of range (0–${count - 1})` };
    for (let u = lo; u <= hi && units.length < HEAT_MAX_UNITS; u++) {
      if (!seen.has(u)) { seen.add(u); units.push(u); }
    }
  }
  if (!units.length) return { error: "no units given" };
  return { units };
}
