import type { FieldsResponse, Preset, PresetsResponse, ScreenerField, ScreenResponse } from '@/types';

/** A catalogue field that every plan may screen on (description and roles filled in). */
export function field(f: Omit<ScreenerField, 'description' | 'roles'> & Partial<ScreenerField>): ScreenerField {
  return { description: '', roles: ['free', 'premium', 'admin'], ...f };
}

export const fieldsFixture: FieldsResponse = {
  data: [
    field({ id: 'sector', label: 'Sector', group: 'descriptive', type: 'string', unit: null }),
    field({ id: 'market_cap', label: 'Market Cap', group: 'descriptive', type: 'number', unit: 'usd' }),
    field({ id: 'pe', label: 'P/E', group: 'fundamental', type: 'number', unit: 'ratio' }),
    field({ id: 'dividend_yield', label: 'Dividend Yield', group: 'fundamental', type: 'number', unit: 'pct' }),
    field({ id: 'rsi14', label: 'RSI (14)', group: 'technical', type: 'number', unit: null }),
  ],
  count: 5,
};

const ref = (name: string) => ({ kind: 'field', name, offset: 0, timeframe: 'daily' });

/** Presets as GET /screens/presets lists them (stockscreen.screening.presets): one the filter builder can
 * show, one it cannot (a query), one on premium fields. */
export const presetsFixture: PresetsResponse = {
  data: [
    {
      id: 'oversold',
      name: 'Oversold',
      description: 'RSI(14) below 30',
      query: 'rsi14 < 30',
      ast: { kind: 'compare', left: ref('rsi14'), op: '<', right: { kind: 'num', value: 30, percent: false } },
      sort: 'rsi14',
      order: 'asc',
      premium: false,
    },
    {
      id: 'golden_cross',
      name: 'Golden Cross',
      description: 'SMA 50 crossed above SMA 200 in the last 10 sessions',
      query: 'sma50 crosses_above sma200 within 10 days',
      ast: {
        kind: 'window',
        mode: 'within',
        days: 10,
        cond: { kind: 'cross', left: ref('sma50'), direction: 'above', right: ref('sma200') },
      },
      sort: 'market_cap',
      order: 'desc',
      premium: false,
    },
    {
      id: 'macd_bullish_cross',
      name: 'MACD Bullish Cross',
      description: 'MACD crossed above its signal line in the last 3 sessions',
      query: 'macd crosses_above macd_signal within 3 days',
      ast: {
        kind: 'window',
        mode: 'within',
        days: 3,
        cond: { kind: 'cross', left: ref('macd'), direction: 'above', right: ref('macd_signal') },
      },
      sort: 'macd_hist',
      order: 'desc',
      premium: true,
    },
  ],
  count: 3,
};

/** One preset of the fixture, by id. */
export function presetFixture(id: string): Preset {
  const found = presetsFixture.data.find((p) => p.id === id);
  if (!found) throw new Error(`no preset fixture ${id}`);
  return found;
}

export const screenFixture: ScreenResponse = {
  data: [
    {
      symbol: 'AAPL',
      name: 'Apple Inc.',
      sector: 'Information Technology',
      close: 159.54,
      change_pct: -2.06,
      volume: 51608580,
      market_cap: 809508034020,
      pe: 16.86,
      dividend_yield: 1.58,
      rsi14: 38.2,
    },
    {
      symbol: 'XOM',
      name: 'Exxon Mobil Corp.',
      sector: 'Energy',
      close: 78.12,
      change_pct: 1.25,
      volume: 12_300_000,
      market_cap: 331_000_000_000,
      pe: null,
      dividend_yield: 3.9,
      rsi14: 25.4,
    },
  ],
  count: 123,
  as_of: '2018-02-07',
  snapshot_version: 3,
  columns: ['symbol', 'name', 'sector', 'close', 'change_pct', 'volume', 'market_cap', 'pe', 'dividend_yield', 'rsi14'],
  query: null,
  clauses: null,
};
