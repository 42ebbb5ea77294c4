/** Human units shared by the terminal table, the Markdown and the charts. */

export function formatRate(bytesPerSecond: number | undefined): string {
  if (bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond)) return '–';
  if (bytesPerSecond >= 1e6) return `${(bytesPerSecond / 1e6).toFixed(2)} MB/s`;
  if (bytesPerSecond >= 1e3) return `${(bytesPerSecond / 1e3).toFixed(2)} kB/s`;
  return `${bytesPerSecond.toFixed(0)} B/s`;
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 100) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(0)} ms`;
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '–';
  if (bytes >= 1024 * 1024) return `${(bytes / 1048576).toFixed(bytes >= 100 * 1048576 ? 0 : 1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(0)} KiB`;
  return `${bytes} B`;
}

export function formatRatio(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  if (value >= 100) return `${value.toFixed(0)}×`;
  return `${value.toFixed(2)}×`;
}

export function formatCount(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function formatTargetValue(value: number | undefined, unit: 'ratio' | 'percent' | 'us' | 'ms' | 'mib'): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  if (unit === 'mib') return `${value.toFixed(0)} MiB`;
  if (unit === 'percent') return `${(value * 100).toFixed(1)} %`;
  if (unit === 'us') return `${value.toFixed(1)} µs`;
  if (unit === 'ms') return `${value.toFixed(2)} ms`;
  return formatRatio(value);
}

/** `value (min – max)`: a figure measured once per round with its range. */
export function formatWithRange(value: number | undefined, range: { readonly min: number; readonly max: number } | undefined, unit: 'ratio' | 'percent' | 'us' | 'ms' | 'mib'): string {
  const v = formatTargetValue(value, unit);
  if (range === undefined) return v;
  return `${v} (${formatTargetValue(range.min, unit)}–${formatTargetValue(range.max, unit)})`;
}

/** A rate with the range of its rounds: `37.20 MB/s (35.10–39.80)`. */
export function formatRateRange(value: number | undefined, range: { readonly min: number; readonly max: number } | undefined): string {
  const v = formatRate(value);
  if (range === undefined) return v;
  const unit = (value ?? 0) >= 1e6 ? 1e6 : 1e3;
  return `${v} (${(range.min / unit).toFixed(2)}–${(range.max / unit).toFixed(2)})`;
}
