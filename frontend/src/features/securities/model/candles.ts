// Candles for the stock page's chart, and how a live tick moves them: the tick updates the current candle
// (its high, low, close and volume) or, once its time is past that candle, starts the next one.
import type { Bar } from '@/types';

export type Timeframe = '1m' | '5m' | '1d' | '1w' | '1mo';
export type IntradayTimeframe = '1m' | '5m';

/** Seconds in one candle of an intraday timeframe. */
export const CANDLE_SECONDS: Record<IntradayTimeframe, number> = { '1m': 60, '5m': 300 };

export function isIntraday(tf: Timeframe): tf is IntradayTimeframe {
  return tf === '1m' || tf === '5m';
}

/** One candle. `time`: UTC seconds (intraday) or the exchange date "YYYY-MM-DD" (daily and longer). */
export interface Candle {
  time: number | string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** A live quote as the chart needs it (the WebSocket's QuoteMessage has these fields). */
export interface Tick {
  price: number;
  ts: string;
  /** the day's cumulative volume, if the feed says */
  volume?: number | null;
}

export interface ApiCandle {
  time: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export function fromApi(candles: readonly ApiCandle[]): Candle[] {
  return candles.map((c) => ({ ...c, time: Math.floor(Date.parse(c.time) / 1000) }));
}

export function fromBars(bars: readonly Bar[]): Candle[] {
  return bars.map((b) => ({ time: b.date, open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume ?? 0 }));
}

const EXCHANGE_DATE = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'America/New_York',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** The exchange's (New York) calendar date of an instant, "YYYY-MM-DD". */
export function exchangeDate(at: Date | number): string {
  return EXCHANGE_DATE.format(typeof at === 'number' ? new Date(at) : at);
}

/** The start (UTC seconds) of the candle of `seconds` holding the instant `ts`. */
export function bucketOf(ts: string, seconds: number): number | null {
  const ms = Date.parse(ts);
  if (Number.isNaN(ms)) return null;
  return Math.floor(ms / 1000 / seconds) * seconds;
}

function moved(last: Candle, price: number, volumeDelta: number): Candle {
  return {
    ...last,
    high: Math.max(last.high, price),
    low: Math.min(last.low, price),
    close: price,
    volume: last.volume + volumeDelta,
  };
}

/**
 * The intraday candles after one tick: the tick's candle is the last one (moved), or a new one after it
 * (opened at the tick's price); a tick older than the last candle changes nothing. Only the last element
 * is new, so a chart can draw the change with one `update`.
 */
export function applyIntradayTick(candles: readonly Candle[], tick: Tick, seconds: number, volumeDelta = 0): Candle[] {
  const time = bucketOf(tick.ts, seconds);
  if (time === null) return candles as Candle[];
  const last = candles[candles.length - 1];
  if (last !== undefined && typeof last.time === 'number') {
    if (time < last.time) return candles as Candle[];
    if (time === last.time) return [...candles.slice(0, -1), moved(last, tick.price, volumeDelta)];
  }
  return [...candles, { time, open: tick.price, high: tick.price, low: tick.price, close: tick.price, volume: volumeDelta }];
}

/**
 * The daily candles after one tick: the tick's session (its New York date) is the last candle (moved; its
 * volume is the day's so far), or a new one after it. A new day's candle opens at `dayOpen` (what the day's
 * intraday candles say) when known, else at the tick's price. With `replay` (make dev's feed, which replays
 * the last daily session as a tape) every tick belongs to the last candle.
 */
export function applyDailyTick(candles: readonly Candle[], tick: Tick, dayOpen?: Candle, replay = false): Candle[] {
  const ms = Date.parse(tick.ts);
  if (Number.isNaN(ms)) return candles as Candle[];
  const last = candles[candles.length - 1];
  const day = replay && last !== undefined && typeof last.time === 'string' ? last.time : exchangeDate(ms);
  const volume = tick.volume ?? undefined;
  if (last !== undefined && typeof last.time === 'string') {
    if (day < last.time) return candles as Candle[];
    if (day === last.time) {
      const next = moved(last, tick.price, 0);
      return [...candles.slice(0, -1), { ...next, volume: volume ?? last.volume }];
    }
  }
  const base = dayOpen ?? { open: tick.price, high: tick.price, low: tick.price, volume: 0 };
  return [
    ...candles,
    {
      time: day,
      open: base.open,
      high: Math.max(base.high, tick.price),
      low: Math.min(base.low, tick.price),
      close: tick.price,
      volume: volume ?? base.volume,
    },
  ];
}

/** One day's candle folded from its intraday candles (undefined when there are none). */
export function foldDay(intraday: readonly Candle[], day: string): Candle | undefined {
  let out: Candle | undefined;
  for (const c of intraday) {
    if (typeof c.time !== 'number' || exchangeDate(c.time * 1000) !== day) continue;
    out = out
      ? { ...out, high: Math.max(out.high, c.high), low: Math.min(out.low, c.low), close: c.close, volume: out.volume + c.volume }
      : { ...c, time: day };
  }
  return out;
}
