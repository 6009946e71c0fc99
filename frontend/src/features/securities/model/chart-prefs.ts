// The stock chart's settings (timeframe, overlays, panes), remembered per user in localStorage.
import { useCallback, useEffect, useState } from 'react';
import { useSession } from '@/lib/session';
import type { Timeframe } from './candles';

export interface ChartPrefs {
  timeframe: Timeframe;
  sma: { on: boolean; periods: number[] };
  ema: { on: boolean; periods: number[] };
  bollinger: boolean;
  rsi: boolean;
  macd: boolean;
}

export const DEFAULT_PREFS: ChartPrefs = {
  timeframe: '1d',
  sma: { on: false, periods: [20, 50] },
  ema: { on: false, periods: [12, 26] },
  bollinger: false,
  rsi: false,
  macd: false,
};

export const MIN_PERIOD = 2;
export const MAX_PERIOD = 500;
export const MAX_PERIODS = 4;
const TIMEFRAMES: readonly Timeframe[] = ['1m', '5m', '1d', '1w', '1mo'];

/** The localStorage key of a user's chart settings (signed-out visitors share one). */
export function prefsKey(userId: string | null | undefined): string {
  return `stockscreen.chart.v1.${userId ?? 'anonymous'}`;
}

/** "20, 50 200" -> [20, 50, 200]: whole numbers in range, each once, at most MAX_PERIODS; null if none is valid. */
export function parsePeriods(text: string): number[] | null {
  const out: number[] = [];
  for (const part of text.split(/[\s,;]+/)) {
    if (!/^\d+$/.test(part)) continue;
    const n = Number(part);
    if (n >= MIN_PERIOD && n <= MAX_PERIOD && !out.includes(n)) out.push(n);
  }
  return out.length > 0 ? out.slice(0, MAX_PERIODS) : null;
}

function periods(value: unknown, fallback: number[]): number[] {
  if (!Array.isArray(value)) return fallback;
  return parsePeriods(value.filter((v) => typeof v === 'number').join(',')) ?? fallback;
}

/** Stored settings, checked field by field (anything unreadable falls back to the default). */
export function readPrefs(raw: string | null): ChartPrefs {
  let v: Record<string, unknown>;
  try {
    const parsed: unknown = raw ? JSON.parse(raw) : null;
    if (typeof parsed !== 'object' || parsed === null) return DEFAULT_PREFS;
    v = parsed as Record<string, unknown>;
  } catch {
    return DEFAULT_PREFS;
  }
  const line = (key: 'sma' | 'ema') => {
    const o = (typeof v[key] === 'object' && v[key] !== null ? v[key] : {}) as Record<string, unknown>;
    return { on: o.on === true, periods: periods(o.periods, DEFAULT_PREFS[key].periods) };
  };
  return {
    timeframe: TIMEFRAMES.includes(v.timeframe as Timeframe) ? (v.timeframe as Timeframe) : DEFAULT_PREFS.timeframe,
    sma: line('sma'),
    ema: line('ema'),
    bollinger: v.bollinger === true,
    rsi: v.rsi === true,
    macd: v.macd === true,
  };
}

function load(key: string): ChartPrefs {
  try {
    return readPrefs(globalThis.localStorage?.getItem(key) ?? null);
  } catch {
    return DEFAULT_PREFS;
  }
}

/** The signed-in user's chart settings and a setter that remembers them. */
export function useChartPrefs(): [ChartPrefs, (change: Partial<ChartPrefs>) => void] {
  const userId = useSession((s) => s.user?.id ?? null);
  const key = prefsKey(userId);
  const [state, setState] = useState(() => ({ key, prefs: load(key) }));
  // another user signed in (or out): their own settings
  useEffect(() => {
    if (state.key !== key) setState({ key, prefs: load(key) });
  }, [key, state.key]);

  const update = useCallback(
    (change: Partial<ChartPrefs>) => {
      setState((s) => {
        const prefs = { ...(s.key === key ? s.prefs : load(key)), ...change };
        try {
          globalThis.localStorage?.setItem(key, JSON.stringify(prefs));
        } catch {
          /* storage full or disabled: the choice lasts for this page only */
        }
        return { key, prefs };
      });
    },
    [key],
  );
  return [state.key === key ? state.prefs : load(key), update];
}
