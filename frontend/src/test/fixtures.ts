import type { FieldsResponse, ScreenResponse } from '@/types/api';

export const fieldsFixture: FieldsResponse = {
  data: [
    { id: 'sector', label: 'Sector', group: 'descriptive', type: 'string', unit: null },
    { id: 'market_cap', label: 'Market Cap', group: 'descriptive', type: 'number', unit: 'usd' },
    { id: 'pe', label: 'P/E', group: 'fundamental', type: 'number', unit: 'ratio' },
    { id: 'dividend_yield', label: 'Dividend Yield', group: 'fundamental', type: 'number', unit: 'pct' },
    { id: 'rsi14', label: 'RSI (14)', group: 'technical', type: 'number', unit: null },
  ],
  count: 5,
};

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
};
