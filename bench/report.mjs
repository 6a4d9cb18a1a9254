// Shared printing for benchmarks: every figure stands beside a floor measured in the same run, and
// the ratio between them is what we compare across machines.

/** Formats nanoseconds, milliseconds or bytes readably. */
export function formatValue(value, unit) {
  if (unit === 'ns') return `${value.toFixed(1)} ns/op`;
  if (unit === 'ms') return `${value.toFixed(1)} ms`;
  if (unit === 'MiB') return `${value.toFixed(1)} MiB`;
  if (unit === 'MiB/s') return `${value.toFixed(0)} MiB/s`;
  if (unit === 'req/s') return `${value.toFixed(0)} req/s`;
  return `${value} ${unit}`;
}

/**
 * Prints one comparison line:
 *   name: 41.2 ns/op vs floor (Map.get + concat) 23.0 ns/op = 1.79x (target <= 2x)
 */
export function report({ name, value, floor, floorName, unit, target }) {
  const ratio = value / floor;
  const targetText = target === undefined ? '' : ` (target <= ${target}x: ${ratio <= target ? 'met' : 'NOT met'})`;
  console.log(`${name}: ${formatValue(value, unit)} vs floor (${floorName}) ${formatValue(floor, unit)} = ${ratio.toFixed(2)}x${targetText}`);
  return ratio;
}

/** Median of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The p-th percentile (0..100) of numbers. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
