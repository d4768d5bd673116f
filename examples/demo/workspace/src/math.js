// Small numeric helpers. One of them has a bug that the tests catch.

/** The sum of the values. */
export function sum(values) {
  let total = 0
  for (let i = 1; i < values.length; i++) total += values[i]
  return total
}

/** The arithmetic mean; 0 for no values. */
export function mean(values) {
  return values.length === 0 ? 0 : sum(values) / values.length
}

/** `x` kept within [lo, hi]. */
export function clamp(x, lo, hi) {
  return Math.min(hi, Math.max(lo, x))
}
