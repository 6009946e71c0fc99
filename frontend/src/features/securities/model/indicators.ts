// The chart's indicators, with the screener's definitions (shared/stockscreen/market/indicators.py and
// measures.py, TA-Lib's conventions): on daily bars they equal the screener's fields for the same day
// (indicators.test.ts checks them against numbers the Python code produced, `python -m devstack.indicator_fixture`).
// Each series is aligned with its input: null until the indicator has a full window.

export type Series = (number | null)[];

function empty(n: number): Series {
  return new Array<number | null>(n).fill(null);
}

function mean(x: readonly number[], from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i += 1) s += x[i]!;
  return s / (to - from);
}

/** Simple moving average of `n` values (from a running sum, as the screener's cumulative sum). */
export function sma(x: readonly number[], n: number): Series {
  const out = empty(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i += 1) {
    sum += x[i]!;
    if (i >= n) sum -= x[i - n]!;
    if (i >= n - 1) out[i] = sum / n;
  }
  return out;
}

/** `y[t] = y[t-1] + alpha (x[t] - y[t-1])` from `y[seedIndex] = seed` (the screener's recursion, step for step). */
function recursive(x: readonly number[], alpha: number, seedIndex: number, seed: number, out: Series): Series {
  if (seedIndex >= x.length) return out;
  const beta = 1 - alpha;
  let prev = seed;
  out[seedIndex] = prev;
  for (let i = seedIndex + 1; i < x.length; i += 1) {
    prev = alpha * x[i]! + beta * prev;
    out[i] = prev;
  }
  return out;
}

/** Exponential moving average, k = 2 / (n + 1), seeded with the simple mean of the first `n` values. */
export function ema(x: readonly number[], n: number): Series {
  const out = empty(x.length);
  if (x.length < n) return out;
  return recursive(x, 2 / (n + 1), n - 1, mean(x, 0, n), out);
}

/** Wilder's RSI: average gains and losses smoothed with alpha = 1/n, seeded by their simple means. */
export function rsi(close: readonly number[], n = 14): Series {
  const len = close.length;
  const out = empty(len);
  if (len <= n) return out;
  const gain = new Array<number>(len).fill(0);
  const loss = new Array<number>(len).fill(0);
  for (let i = 1; i < len; i += 1) {
    const d = close[i]! - close[i - 1]!;
    gain[i] = Math.max(d, 0);
    loss[i] = Math.max(-d, 0);
  }
  const g = recursive(gain, 1 / n, n, mean(gain, 1, n + 1), empty(len));
  const l = recursive(loss, 1 / n, n, mean(loss, 1, n + 1), empty(len));
  for (let i = n; i < len; i += 1) {
    const total = g[i]! + l[i]!;
    out[i] = total > 0 ? (100 * g[i]!) / total : 0;
  }
  return out;
}

export interface Macd {
  line: Series;
  signal: Series;
  hist: Series;
}

/**
 * TA-Lib's MACD, as the screener's: both EMAs start at bar `slow - 1` (the fast one seeded with the mean of
 * the `fast` closes ending there), the line from that bar, the signal (an EMA of the line) `signal - 1` bars later.
 */
export function macd(close: readonly number[], fast = 12, slow = 26, signal = 9): Macd {
  const len = close.length;
  const line = empty(len);
  const sig = empty(len);
  const hist = empty(len);
  if (len < slow) return { line, signal: sig, hist };
  const slowEma = ema(close, slow);
  const fastEma = recursive(close, 2 / (fast + 1), slow - 1, mean(close, slow - fast, slow), empty(len));
  const values: number[] = [];
  for (let i = slow - 1; i < len; i += 1) {
    line[i] = fastEma[i]! - slowEma[i]!;
    values.push(line[i]!);
  }
  const s = ema(values, signal);
  for (let k = 0; k < s.length; k += 1) {
    const v = s[k];
    if (v === null || v === undefined) continue;
    sig[slow - 1 + k] = v;
    hist[slow - 1 + k] = line[slow - 1 + k]! - v;
  }
  return { line, signal: sig, hist };
}

export interface Bands {
  upper: Series;
  middle: Series;
  lower: Series;
}

/** Bollinger bands: the `n`-bar SMA plus and minus `k` population standard deviations of the same window. */
export function bollinger(close: readonly number[], n = 20, k = 2): Bands {
  const middle = sma(close, n);
  const upper = empty(close.length);
  const lower = empty(close.length);
  for (let i = n - 1; i < close.length; i += 1) {
    const m = middle[i]!;
    let ss = 0;
    for (let j = i - n + 1; j <= i; j += 1) ss += (close[j]! - m) ** 2;
    const sd = Math.sqrt(ss / n);
    upper[i] = m + k * sd;
    lower[i] = m - k * sd;
  }
  return { upper, middle, lower };
}
