import { describe, expect, it } from 'vitest';
import { changeClass, formatByUnit, formatCompact, formatMoneyCompact, formatNumber, formatPercent, parseNumberInput } from './format';

describe('formatCompact', () => {
  it.each([
    [1_200_000_000, '1.20B'],
    [3_400_000, '3.40M'],
    [809_508_034_020, '809.51B'],
    [2_500_000_000_000, '2.50T'],
    [51_608_580, '51.61M'],
    [12_345, '12.35K'],
    [950, '950'],
    [0, '0'],
    [-4_500_000, '-4.50M'],
    [999_999_999, '1.00B'],
  ])('%d -> %s', (value, expected) => {
    expect(formatCompact(value)).toBe(expected);
  });

  it('renders a dash for null, undefined and NaN', () => {
    expect(formatCompact(null)).toBe('—');
    expect(formatCompact(undefined)).toBe('—');
    expect(formatCompact(Number.NaN)).toBe('—');
  });

  it('supports a custom digit count', () => {
    expect(formatCompact(1_234_000_000, 1)).toBe('1.2B');
  });
});

describe('other formatters', () => {
  it('formats money, numbers and percents', () => {
    expect(formatMoneyCompact(809_508_034_020)).toBe('$809.51B');
    expect(formatMoneyCompact(-2_000_000)).toBe('-$2.00M');
    expect(formatNumber(1234.5, 2)).toBe('1,234.50');
    expect(formatPercent(-2.06, { signed: true })).toBe('-2.06%');
    expect(formatPercent(0.35, { signed: true })).toBe('+0.35%');
    expect(formatPercent(1.58)).toBe('1.58%');
    expect(formatPercent(null)).toBe('—');
  });

  it('colours changes', () => {
    expect(changeClass(1)).toContain('emerald');
    expect(changeClass(-1)).toContain('rose');
    expect(changeClass(0)).toContain('slate');
    expect(changeClass(null)).toContain('slate');
  });

  it('formats by unit', () => {
    expect(formatByUnit(10_000_000_000, 'usd')).toBe('$10.00B');
    expect(formatByUnit(4, 'pct')).toBe('4.00%');
    expect(formatByUnit('Energy', null)).toBe('Energy');
    expect(formatByUnit(null, 'usd')).toBe('—');
  });
});

describe('parseNumberInput', () => {
  it.each([
    ['10B', 10_000_000_000],
    ['2.5m', 2_500_000],
    ['1,000', 1000],
    ['$100b', 100_000_000_000],
    ['-3', -3],
    ['4%', 4],
    ['.5', 0.5],
    ['1e3', 1000],
  ])('%s -> %d', (raw, expected) => {
    expect(parseNumberInput(raw)).toBe(expected);
  });

  it.each(['', 'abc', '10X', '1.2.3'])('rejects %j', (raw) => {
    expect(parseNumberInput(raw)).toBeNull();
  });
});
