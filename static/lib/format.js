// Numbers as the page prints them.

export const fmtInt = new Intl.NumberFormat("en-US");

/** "+0.1234" / "-0.1234": four decimals with the sign always shown. */
export function fmtValue(v) {
  return (v >= 0 ? "+" : "") + v.toFixed(4);
}

/** "+0.123" / "−0.123" (a true minus sign), for the unit report's examples. */
export function fmtSigned(v) {
  return (v >= 0 ? "+" : "−") + Math.abs(v).toFixed(3);
}

/** A share as a percentage, with one decimal below 10 %. */
export function fmtShare(x) {
  return `${(x * 100).toFixed(x < 0.1 && x > 0 ? 1 : 0)}%`;
}
