import { describe, expect, it } from 'vitest';
import fixture from './indicators.fixture.json';
import { bollinger, ema, macd, rsi, sma, type Series } from './indicators';

// The fixture holds the test sample's real AAPL bars and the screener's values on some of its days, computed by
// stockscreen.market.measures (python -m devstack.indicator_fixture; tests/unit checks it is current and
// tests/integration that its last day is what the API's snapshot reports).
const close = fixture.bars.map((b) => b.close);

function computed(): Record<string, Series> {
  const m = macd(close);
  const bb = bollinger(close, 20, 2);
  return {
    sma20: sma(close, 20),
    sma50: sma(close, 50),
    sma200: sma(close, 200),
    ema12: ema(close, 12),
    ema26: ema(close, 26),
    rsi14: rsi(close, 14),
    macd: m.line,
    macd_signal: m.signal,
    macd_hist: m.hist,
    bb_upper: bb.upper,
    bb_lower: bb.lower,
  };
}

describe('chart indicators equal the screener fields', () => {
  const ours = computed();

  it.each(fixture.expected.map((e) => [e.date, e] as const))('on %s', (_date, expected) => {
    expect(fixture.bars[expected.index]!.date).toBe(expected.date);
    for (const [field, want] of Object.entries(expected.values)) {
      const got = ours[field]![expected.index];
      if (want === null) {
        expect(got, field).toBeNull();
      } else {
        expect(got, field).not.toBeNull();
        expect(Math.abs((got as number) - want), `${field}: ${got} vs ${want}`).toBeLessThan(1e-9 * Math.max(1, Math.abs(want)));
      }
    }
  });

  it('checks the last day and every warm-up boundary', () => {
    expect(fixture.expected.at(-1)!.index).toBe(fixture.bars.length - 1);
    // the day before a window is full is still empty
    expect(ours.sma20![18]).toBeNull();
    expect(ours.ema26![24]).toBeNull();
    expect(ours.rsi14![13]).toBeNull();
    expect(ours.macd_signal![32]).toBeNull();
  });

  it('handles short histories and flat prices', () => {
    expect(sma([1, 2], 3)).toEqual([null, null]);
    expect(ema([1, 2, 3], 3)).toEqual([null, null, 2]);
    expect(rsi([5, 5, 5, 5], 3)).toEqual([null, null, null, 0]);
    expect(macd([1, 2, 3]).line).toEqual([null, null, null]);
    const flat = bollinger([2, 2, 2], 2, 2);
    expect(flat.upper).toEqual([null, 2, 2]);
    expect(flat.lower).toEqual([null, 2, 2]);
  });
});
