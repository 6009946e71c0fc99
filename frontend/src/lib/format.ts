const DASH = '—';

/** A value of a free-form record (a screen row, a snapshot) as a number, or null when it is not one. */
export function asNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** A value of a free-form record as text, or null when it is not a string. */
export function asText(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function isNum(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** 1234567 -> "1.23M", 1.2e9 -> "1.20B", 950 -> "950". */
export function formatCompact(value: number | null | undefined, digits = 2): string {
  if (!isNum(value)) return DASH;
  const abs = Math.abs(value);
  const sign = value < 0 ? '-' : '';
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [size, suffix] of units) {
    if (abs >= size) {
      let scaled = abs / size;
      // Avoid "1000.00M" when rounding pushes us to the next unit.
      if (Number(scaled.toFixed(digits)) >= 1000 && suffix !== 'T') {
        const idx = units.findIndex((u) => u[1] === suffix);
        const bigger = units[idx - 1];
        if (bigger) {
          scaled = abs / bigger[0];
          return `${sign}${scaled.toFixed(digits)}${bigger[1]}`;
        }
      }
      return `${sign}${scaled.toFixed(digits)}${suffix}`;
    }
  }
  return `${sign}${abs.toFixed(abs % 1 === 0 ? 0 : digits)}`;
}

export function formatMoneyCompact(value: number | null | undefined, digits = 2): string {
  if (!isNum(value)) return DASH;
  const compact = formatCompact(value, digits);
  return value < 0 ? `-$${compact.slice(1)}` : `$${compact}`;
}

export function formatNumber(value: number | null | undefined, digits = 2): string {
  if (!isNum(value)) return DASH;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatPrice(value: number | null | undefined): string {
  return formatNumber(value, 2);
}

export function formatInteger(value: number | null | undefined): string {
  if (!isNum(value)) return DASH;
  return Math.round(value).toLocaleString('en-US');
}

/** Values are already in percent: 2.5 -> "2.50%". With sign: "+2.50%". */
export function formatPercent(value: number | null | undefined, opts: { signed?: boolean; digits?: number } = {}): string {
  if (!isNum(value)) return DASH;
  const { signed = false, digits = 2 } = opts;
  const fixed = value.toFixed(digits);
  const sign = signed && value > 0 ? '+' : '';
  return `${sign}${fixed}%`;
}

export function changeClass(value: number | null | undefined): string {
  if (!isNum(value) || value === 0) return 'text-slate-400';
  return value > 0 ? 'text-emerald-400' : 'text-rose-400';
}

/** Parse user input like "10B", "2.5m", "1,000", "-3" into a number. Returns null when invalid. */
export function parseNumberInput(raw: string): number | null {
  const text = raw.trim().replace(/[,$_\s]/g, '').replace(/%$/, '');
  if (!text) return null;
  const match = /^(-?\d*\.?\d+(?:e[+-]?\d+)?)([kmbt]?)$/i.exec(text);
  if (!match) return null;
  const base = Number(match[1]);
  if (!Number.isFinite(base)) return null;
  const mult: Record<string, number> = { '': 1, k: 1e3, m: 1e6, b: 1e9, t: 1e12 };
  return base * (mult[(match[2] ?? '').toLowerCase()] ?? 1);
}

/** Format a value according to a screener field unit. */
export function formatByUnit(value: unknown, unit: string | null | undefined): string {
  if (value === null || value === undefined) return DASH;
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (typeof value === 'string') return value;
  if (!isNum(value)) return DASH;
  switch (unit) {
    case 'usd':
      return Math.abs(value) >= 1e5 ? formatMoneyCompact(value) : formatPrice(value);
    case 'pct':
      return formatPercent(value);
    case 'shares':
      return formatCompact(value);
    case 'ratio':
      return formatNumber(value, 2);
    default:
      return Math.abs(value) >= 1e5 ? formatCompact(value) : formatNumber(value, 2);
  }
}
