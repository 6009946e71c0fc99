import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { setSession } from '@/lib/session';
import { charts, currentChart, resetCharts } from '@/test/fake-chart';
import { FakeWebSocket, stubWebSocket } from '@/test/fake-socket';
import { jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';
import { prefsKey } from '../model/chart-prefs';
import { PriceChartPanel } from './price-chart-panel';

vi.mock('lightweight-charts', () => import('@/test/fake-chart'));

const DAY = '2026-12-04';
const bars = Array.from({ length: 60 }, (_, i) => {
  const d = new Date(Date.UTC(2026, 9, 6) + i * 86_400_000).toISOString().slice(0, 10);
  return { date: d, open: 100 + i, high: 102 + i, low: 99 + i, close: 101 + i, volume: 1000 + i };
});
bars[bars.length - 1]!.date = '2026-12-03';

// one-minute candles 14:30 ... 14:39 UTC (09:30 ... 09:39 New York) of DAY
const minute = (m: number) => `${DAY}T14:${String(30 + m).padStart(2, '0')}:00+00:00`;
const oneMinute = Array.from({ length: 10 }, (_, i) => ({ time: minute(i), open: 50 + i, high: 51 + i, low: 49 + i, close: 50.5 + i, volume: 100 }));
const fiveMinute = [
  { time: minute(0), open: 50, high: 55, low: 49, close: 54.5, volume: 500 },
  { time: minute(5), open: 55, high: 60, low: 54, close: 59.5, volume: 500 },
];

const OPEN = { is_open: true, reason: null, next_open: null, last_price: 59.5, last_price_at: `${DAY}T14:39:58+00:00`, feed: 'stooq' };
let session: Record<string, unknown> = OPEN;
const requests: string[] = [];

function chartEl() {
  return screen.getByTestId('price-chart');
}

function candles() {
  return currentChart()!.series.find((s) => s.type === 'Candlestick')!.data as { time: unknown; open: number; high: number; low: number; close: number }[];
}

// The app's shared socket keeps the last quote of each symbol: each test follows a symbol of its own.
let symbol = 'AAPL';
let seq = 0;

async function renderPanel() {
  const view = renderWithProviders(<PriceChartPanel symbol={symbol} />);
  await waitFor(() => expect(chartEl()).toBeInTheDocument());
  return view;
}

function quote(price: number, ts: string, volume: number | null = null) {
  act(() => FakeWebSocket.latest()!.receive({ type: 'quote', symbol, price, change_pct: 0.1, volume, ts }));
}

describe('price chart panel', () => {
  beforeEach(() => {
    resetCharts();
    stubWebSocket();
    session = OPEN;
    requests.length = 0;
    seq += 1;
    symbol = `T${seq}`;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: RequestInfo | URL) => {
        const url = String(input);
        requests.push(url);
        if (url.startsWith(`/api/securities/${symbol}/bars`)) return jsonResponse({ symbol, interval: '1d', data: bars });
        if (url.startsWith(`/api/securities/${symbol}/intraday`)) {
          const interval = new URL(url, 'http://x').searchParams.get('interval');
          return jsonResponse({ symbol, interval, data: interval === '1m' ? oneMinute : fiveMinute, session });
        }
        return jsonResponse({ error: { code: 'not_found', message: 'nope', request_id: 'r' } }, 404);
      }),
    );
  });

  it('switches timeframes, each from its API, and remembers the choice', async () => {
    const user = userEvent.setup();
    const view = await renderPanel();
    await waitFor(() => expect(chartEl()).toHaveAttribute('data-candles', String(bars.length)));
    expect(screen.getByTestId('chart-panel')).toHaveAttribute('data-timeframe', '1d');
    expect(chartEl()).toHaveAttribute('data-last-time', '2026-12-03');

    await user.click(screen.getByTestId('interval-1m'));
    await waitFor(() => expect(chartEl()).toHaveAttribute('data-candles', '10'));
    expect(requests.some((u) => u.includes('/intraday?interval=1m'))).toBe(true);
    expect(chartEl()).toHaveAttribute('data-last-time', '2026-12-04T14:39:00.000Z');
    expect(chartEl()).toHaveAttribute('data-last-close', '59.5');
    expect(screen.queryByTestId('range-1Y')).toBeNull(); // ranges are for daily and longer bars

    await user.click(screen.getByTestId('interval-5m'));
    await waitFor(() => expect(chartEl()).toHaveAttribute('data-candles', '2'));
    expect(candles().map((c) => c.time)).toEqual([Date.parse(minute(0)) / 1000, Date.parse(minute(5)) / 1000]);
    expect(JSON.parse(localStorage.getItem(prefsKey(null))!).timeframe).toBe('5m');

    view.unmount();
    await renderPanel();
    expect(screen.getByTestId('chart-panel')).toHaveAttribute('data-timeframe', '5m');
  });

  it('a live tick moves the current 1-minute candle and starts a new one when the minute rolls', async () => {
    localStorage.setItem(prefsKey(null), JSON.stringify({ timeframe: '1m' }));
    await renderPanel();
    await waitFor(() => expect(chartEl()).toHaveAttribute('data-candles', '10'));
    act(() => FakeWebSocket.latest()!.open());
    expect(FakeWebSocket.latest()!.sent).toContainEqual({ action: 'subscribe', symbols: [symbol] });

    quote(70, `${DAY}T14:39:30+00:00`, 5000); // inside the last candle: a new high and close
    expect(chartEl()).toHaveAttribute('data-candles', '10');
    expect(chartEl()).toHaveAttribute('data-last-high', '70');
    expect(chartEl()).toHaveAttribute('data-last-close', '70');
    expect(chartEl()).toHaveAttribute('data-last-open', '59'); // the candle's open stays
    quote(40, `${DAY}T14:39:45+00:00`, 5300);
    expect(chartEl()).toHaveAttribute('data-last-low', '40');
    expect(chartEl()).toHaveAttribute('data-last-high', '70');
    expect(candles().at(-1)).toMatchObject({ open: 59, high: 70, low: 40, close: 40 });

    quote(41.5, `${DAY}T14:40:02+00:00`, 5400); // the minute rolled over: a new candle opens at the tick
    expect(chartEl()).toHaveAttribute('data-candles', '11');
    expect(chartEl()).toHaveAttribute('data-last-time', '2026-12-04T14:40:00.000Z');
    expect(candles().at(-1)).toMatchObject({ time: Date.parse(minute(10)) / 1000, open: 41.5, high: 41.5, low: 41.5, close: 41.5 });
    expect(candles()).toHaveLength(11);
    const volume = currentChart()!.series.find((s) => s.type === 'Histogram' && s.pane === 1)!.data.at(-1) as { value: number };
    expect(volume.value).toBe(100); // traded since the previous tick

    quote(99, `${DAY}T14:38:00+00:00`); // late: older than the last candle, ignored
    expect(chartEl()).toHaveAttribute('data-candles', '11');
    expect(chartEl()).toHaveAttribute('data-last-close', '41.5');
  });

  it('ticks move the daily candle, and a new session opens where its intraday candles did', async () => {
    await renderPanel();
    await waitFor(() => expect(chartEl()).toHaveAttribute('data-candles', String(bars.length)));
    act(() => FakeWebSocket.latest()!.open());
    // 2026-12-04 in New York: a new daily candle, opened at the session's first 5-minute candle
    quote(61, `${DAY}T14:45:10+00:00`, 777);
    expect(chartEl()).toHaveAttribute('data-candles', String(bars.length + 1));
    expect(chartEl()).toHaveAttribute('data-last-time', DAY);
    expect(candles().at(-1)).toMatchObject({ time: DAY, open: 50, high: 61, low: 49, close: 61 });
    quote(48, `${DAY}T15:01:00+00:00`, 900);
    expect(candles().at(-1)).toMatchObject({ time: DAY, open: 50, high: 61, low: 48, close: 48 });
    expect(chartEl()).toHaveAttribute('data-candles', String(bars.length + 1));
  });

  it("make dev's replay feed moves the last daily candle (it replays that session)", async () => {
    session = { ...OPEN, feed: 'replay' };
    await renderPanel();
    await waitFor(() => expect(chartEl()).toHaveAttribute('data-candles', String(bars.length)));
    act(() => FakeWebSocket.latest()!.open());
    quote(170.5, `${DAY}T14:45:10+00:00`, 777);
    expect(chartEl()).toHaveAttribute('data-candles', String(bars.length));
    expect(candles().at(-1)).toMatchObject({ time: '2026-12-03', open: 159, high: 170.5, low: 158, close: 170.5 });
  });

  it('overlays and panes are toggled, their periods chosen, and remembered for the user', async () => {
    const user = userEvent.setup();
    act(() => setSession(tokenFixture()));
    const view = await renderPanel();
    await waitFor(() => expect(chartEl()).toHaveAttribute('data-candles', String(bars.length)));
    expect(chartEl()).toHaveAttribute('data-overlays', '');

    await user.click(screen.getByTestId('toggle-sma'));
    expect(screen.getByTestId('toggle-sma')).toHaveAttribute('aria-pressed', 'true');
    await waitFor(() => expect(chartEl()).toHaveAttribute('data-overlays', 'sma20 sma50'));
    const sma20 = currentChart()!.series.find((s) => s.options.title === 'SMA 20')!;
    // the first point is the 20th bar's, the mean of its 20 closes
    expect(sma20.data[0]).toEqual({ time: bars[19]!.date, value: bars.slice(0, 20).reduce((a, b) => a + b.close, 0) / 20 });

    const periods = screen.getByTestId('sma-periods');
    await user.clear(periods);
    await user.type(periods, '10, 30, 1, x{Enter}');
    await waitFor(() => expect(chartEl()).toHaveAttribute('data-overlays', 'sma10 sma30'));

    await user.click(screen.getByTestId('toggle-bollinger'));
    await user.click(screen.getByTestId('toggle-rsi'));
    await user.click(screen.getByTestId('toggle-macd'));
    await waitFor(() => expect(chartEl()).toHaveAttribute('data-panes', 'rsi macd'));
    expect(chartEl()).toHaveAttribute('data-overlays', 'sma10 sma30 bb_upper bb_lower');
    const panes = new Set(currentChart()!.series.map((s) => s.pane));
    expect([...panes].sort()).toEqual([0, 1, 2, 3]); // candles, volume, RSI, MACD

    const key = prefsKey(tokenFixture().user.id);
    expect(JSON.parse(localStorage.getItem(key)!)).toMatchObject({ sma: { on: true, periods: [10, 30] }, bollinger: true, rsi: true, macd: true });
    expect(localStorage.getItem(prefsKey(null))).toBeNull(); // another user's (or a visitor's) chart is not changed

    view.unmount();
    await renderPanel();
    await waitFor(() => expect(chartEl()).toHaveAttribute('data-panes', 'rsi macd'));
    expect(chartEl()).toHaveAttribute('data-overlays', 'sma10 sma30 bb_upper bb_lower');
    await user.click(screen.getByTestId('toggle-rsi'));
    await waitFor(() => expect(chartEl()).toHaveAttribute('data-panes', 'macd'));
    expect(charts.filter((c) => !c.removed)).toHaveLength(1); // the chart was rebuilt, not stacked
  });

  it('bad stored settings fall back to the defaults', async () => {
    localStorage.setItem(prefsKey(null), '{"timeframe":"2h","sma":{"on":true,"periods":[0,"9"]},"rsi":"yes"}');
    await renderPanel();
    expect(screen.getByTestId('chart-panel')).toHaveAttribute('data-timeframe', '1d');
    await waitFor(() => expect(chartEl()).toHaveAttribute('data-overlays', 'sma20 sma50'));
    expect(chartEl()).toHaveAttribute('data-panes', '');
  });

  it('says the market is closed, with the last price, its time and the next open', async () => {
    session = {
      is_open: false,
      reason: 'weekend',
      next_open: '2026-12-07T14:30:00+00:00',
      last_price: 160.12,
      last_price_at: '2026-12-04T20:59:58+00:00',
      feed: 'stooq',
    };
    await renderPanel();
    const note = await screen.findByTestId('market-closed');
    expect(note).toHaveTextContent('Market closed (weekend), last price 160.12 at Fri, Dec 4, 3:59 PM ET · opens Mon, Dec 7, 9:30 AM ET');
  });

  it('says nothing of the market while it is open', async () => {
    const user = userEvent.setup();
    await renderPanel();
    await waitFor(() => expect(requests.some((u) => u.includes('/intraday'))).toBe(true));
    await waitFor(() => expect(chartEl()).toHaveAttribute('data-candles', String(bars.length)));
    expect(screen.queryByTestId('market-closed')).toBeNull();
    await user.click(screen.getByTestId('interval-1m'));
    await waitFor(() => expect(chartEl()).toHaveAttribute('data-candles', '10'));
    expect(screen.queryByTestId('market-closed')).toBeNull();
  });
});
