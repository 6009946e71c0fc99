import { screen, waitFor } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { StockRoute } from './stock';
import { jsonResponse, renderWithProviders } from '@/test/utils';

// jsdom has no canvas: replace lightweight-charts with a fake that draws a <canvas>.
const chartMock = vi.hoisted(() => ({ setData: vi.fn(), setVisibleRange: vi.fn(), fitContent: vi.fn() }));
vi.mock('lightweight-charts', () => {
  const series = () => ({ setData: chartMock.setData, update: vi.fn(), applyOptions: vi.fn() });
  return {
    CandlestickSeries: { type: 'Candlestick' },
    HistogramSeries: { type: 'Histogram' },
    LineSeries: { type: 'Line' },
    ColorType: { Solid: 'solid' },
    CrosshairMode: { Normal: 0 },
    TickMarkType: { Time: 3, TimeWithSeconds: 4 },
    createChart: (el: HTMLElement) => {
      el.appendChild(document.createElement('canvas'));
      return {
        addSeries: series,
        panes: () => [{ setStretchFactor: vi.fn() }, { setStretchFactor: vi.fn() }],
        subscribeCrosshairMove: vi.fn(),
        unsubscribeCrosshairMove: vi.fn(),
        timeScale: () => ({ setVisibleRange: chartMock.setVisibleRange, setVisibleLogicalRange: vi.fn(), fitContent: chartMock.fitContent }),
        remove: vi.fn(),
      };
    },
  };
});

class FakeWebSocket {
  static OPEN = 1;
  readyState = 0;
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  send = vi.fn();
  close = vi.fn();
  constructor(public url: string) {}
}

const bars = Array.from({ length: 400 }, (_, i) => {
  const d = new Date(Date.UTC(2017, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
  return { date: d, open: 100 + i, high: 102 + i, low: 99 + i, close: 101 + i, volume: 1000 + i };
});

describe('stock page', () => {
  beforeEach(() => {
    vi.stubGlobal('WebSocket', FakeWebSocket);
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: RequestInfo | URL) => {
        const url = String(input);
        if (url.startsWith('/api/securities/AAPL/bars')) return jsonResponse({ symbol: 'AAPL', interval: '1d', data: bars });
        if (url.startsWith('/api/securities/AAPL/intraday'))
          return jsonResponse({
            symbol: 'AAPL',
            interval: '5m',
            data: [],
            session: { is_open: true, reason: null, next_open: null, last_price: 160, last_price_at: '2018-02-07T21:00:00+00:00', feed: 'stooq' },
          });
        if (url.startsWith('/api/securities/AAPL'))
          return jsonResponse({
            symbol: 'AAPL',
            name: 'Apple Inc.',
            sector: 'Information Technology',
            industry: 'Technology Hardware',
            headquarters: 'Cupertino, California',
            date_added: '1982-11-30',
            snapshot: { close: 159.54, change_pct: -2.06, volume: 51608580, market_cap: 809508034020, pe: 16.86, high_52w: 180.1, low_52w: 130.2 },
          });
        return jsonResponse({ error: { code: 'not_found', message: 'Unknown symbol ZZZZ', request_id: 'r1' } }, 404);
      }),
    );
  });

  it('renders header, stats and the chart canvas', async () => {
    renderWithProviders(<StockRoute />, { path: '/stocks/:symbol', route: '/stocks/aapl' });
    const header = screen.getByTestId('stock-header');
    expect(header).toHaveTextContent('AAPL');
    await waitFor(() => expect(header).toHaveTextContent('Apple Inc.'));
    expect(header).toHaveTextContent('159.54');
    expect(header).toHaveTextContent('-2.06%');
    expect(screen.getByText('$809.51B')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId('price-chart').querySelector('canvas')).not.toBeNull());
    expect(chartMock.setData).toHaveBeenCalled();
    // Default range 1Y is counted back from the last bar.
    expect(chartMock.setVisibleRange).toHaveBeenCalledWith({ from: bars.at(-1)!.date.replace('2018', '2017'), to: bars.at(-1)!.date });
  });

  it('shows a not-found message for unknown symbols', async () => {
    renderWithProviders(<StockRoute />, { path: '/stocks/:symbol', route: '/stocks/ZZZZ' });
    expect(await screen.findByRole('alert')).toHaveTextContent('Unknown symbol ZZZZ');
  });
});
