import { useState } from 'react';
import { applyDailyTick, applyIntradayTick, CANDLE_SECONDS, exchangeDate, isIntraday, type Candle, type Tick, type Timeframe } from './candles';

interface LiveState {
  base: readonly Candle[];
  timeframe: Timeframe;
  candles: Candle[];
  /** the last tick applied (its time) and the day's cumulative volume it carried */
  tickTs: string | null;
  volume: number | null;
}

/**
 * The candles of `base` (from the API) moved by the live ticks since: on 1m and 5m the tick's candle
 * (or a new one when its minute rolls over), on 1D the session's candle. When `base` is refetched the
 * latest tick is applied to it again. `dayOpen` gives a new session's candle so far (from its intraday
 * candles) so that today's daily candle opens where the session did; with `replay` (make dev's feed replays
 * the last session) ticks move the last daily candle.
 */
export function useLiveCandles(
  base: readonly Candle[],
  timeframe: Timeframe,
  tick: Tick | undefined,
  dayOpen?: (day: string) => Candle | undefined,
  replay = false,
): Candle[] {
  const [state, setState] = useState<LiveState>(() => ({ base, timeframe, candles: [...base], tickTs: null, volume: null }));
  let next = state;
  if (state.base !== base || state.timeframe !== timeframe) {
    next = { base, timeframe, candles: [...base], tickTs: null, volume: null };
  }
  const live = isIntraday(timeframe) || timeframe === '1d';
  // a daily chart needs its history first; an intraday one may start from the first tick
  if (tick && live && (base.length > 0 || isIntraday(timeframe)) && tick.ts !== next.tickTs) {
    let candles: Candle[];
    if (isIntraday(timeframe)) {
      const v = tick.volume ?? null;
      const delta = v !== null && next.volume !== null && v >= next.volume ? v - next.volume : 0;
      candles = applyIntradayTick(next.candles, tick, CANDLE_SECONDS[timeframe], delta);
    } else {
      const ms = Date.parse(tick.ts);
      candles = applyDailyTick(next.candles, tick, Number.isNaN(ms) ? undefined : dayOpen?.(exchangeDate(ms)), replay);
    }
    next = { ...next, candles, tickTs: tick.ts, volume: tick.volume ?? next.volume };
  }
  // derived from the previous render's state (React's "adjusting state when a prop changes")
  if (next !== state) setState(next);
  return next.candles;
}
