import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { setSession } from '@/lib/session';
import { fakeApi } from '@/test/fake-api';
import { errorResponse, jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';
import type { BacktestResult } from '../api/run-backtest';
import { BacktestRoute } from './backtest-page';

// jsdom has no canvas: a fake lightweight-charts that records the series data.
const chart = vi.hoisted(() => ({ series: [] as { title: string; setData: ReturnType<typeof vi.fn> }[] }));
vi.mock('lightweight-charts', () => ({
  ColorType: { Solid: 'solid' },
  LineSeries: { type: 'Line' },
  createChart: (el: HTMLElement) => {
    el.appendChild(document.createElement('canvas'));
    return {
      addSeries: (_type: unknown, opts: { title: string }) => {
        const s = { title: opts.title, setData: vi.fn() };
        chart.series.push(s);
        return s;
      },
      timeScale: () => ({ fitContent: vi.fn() }),
      remove: vi.fn(),
    };
  },
}));

const stats = (total: number) => ({
  total_return: total,
  cagr: total / 2,
  volatility: 0.2,
  sharpe: 0.75,
  max_drawdown: 0.125,
  max_drawdown_peak: '2014-03-03',
  max_drawdown_trough: '2014-04-01',
});

function result(): BacktestResult {
  const holding = (symbol: string, ret: number, delisted = false) => ({
    symbol,
    entry_date: '2014-02-03',
    entry_price: 100,
    exit_date: delisted ? '2014-02-20' : '2014-03-03',
    exit_price: 100 * (1 + ret),
    gross_return: ret,
    delisted,
  });
  return {
    query: 'rsi14 < 30',
    rebalance: 'monthly',
    entry: 'next_open',
    optimistic: false,
    hold_sessions: null,
    cost_bps: 10,
    slippage_bps: 5,
    benchmark: 'the equal-weighted universe',
    benchmark_symbol: null,
    start: '2014-01-31',
    end: '2014-04-01',
    periods: [
      {
        signal_date: '2014-01-31',
        entry_date: '2014-02-03',
        exit_date: '2014-03-03',
        count: 2,
        symbols: ['AAA', 'ZZZ'],
        holdings: [holding('AAA', 0.1), holding('ZZZ', -0.3, true)],
        cash: false,
        gross_return: -0.1,
        cost: 0.0015,
        net_return: -0.1015,
        benchmark_return: 0.02,
        benchmark_symbol_return: null,
        excess: -0.1215,
        hit_rate: 0.5,
        turnover: 1,
      },
      {
        signal_date: '2014-02-28',
        entry_date: '2014-03-03',
        exit_date: '2014-04-01',
        count: 0,
        symbols: [],
        holdings: [],
        cash: true,
        gross_return: 0,
        cost: 0.0015,
        net_return: -0.0015,
        benchmark_return: 0.01,
        benchmark_symbol_return: null,
        excess: -0.0115,
        hit_rate: null,
        turnover: 1,
      },
    ],
    equity: [
      { date: '2014-02-03', strategy: 1, benchmark: 1, benchmark_symbol: null, drawdown: 0, benchmark_drawdown: 0 },
      { date: '2014-03-03', strategy: 0.8985, benchmark: 1.02, benchmark_symbol: null, drawdown: -0.1015, benchmark_drawdown: 0 },
      { date: '2014-04-01', strategy: 0.897, benchmark: 1.0302, benchmark_symbol: null, drawdown: -0.103, benchmark_drawdown: 0 },
    ],
    summary: {
      periods: 2,
      invested_periods: 1,
      avg_holdings: 1,
      strategy: stats(-0.103),
      benchmark: stats(0.0302),
      benchmark_symbol: null,
      hit_rate: 0,
      avg_excess: -0.0665,
      avg_excess_invested: -0.1215,
      avg_turnover: 1,
      total_cost: 0.003,
    },
    delistings: 1,
    warnings: ['the period signalled on 2014-03-31 is left out: its exit is after the stored data'],
    definitions: { hit_rate: 'share of the invested periods whose net return beat the benchmark' },
  };
}

function renderPage() {
  return renderWithProviders(<BacktestRoute />, { path: '/backtest', route: '/backtest' });
}

describe('BacktestPage', () => {
  beforeEach(() => {
    chart.series = [];
    setSession(tokenFixture({ role: 'premium' }));
  });

  it('sends the settings and shows the statistics, charts, warnings and every holding', async () => {
    const api = fakeApi((req) => (req.path === '/api/screens/backtest' && req.method === 'POST' ? jsonResponse(result()) : undefined));
    renderPage();
    await userEvent.clear(screen.getByLabelText(/Hold/));
    await userEvent.type(screen.getByLabelText(/Hold/), '5');
    await userEvent.type(screen.getByLabelText(/Benchmark symbol/), 'spy');
    await userEvent.click(screen.getByRole('button', { name: 'Run backtest' }));

    const stats = await screen.findByTestId('backtest-stats');
    expect(api.writes()).toHaveLength(1);
    expect(api.writes()[0]?.body).toEqual({
      query: 'rsi14 < 30',
      rebalance: 'monthly',
      entry: 'next_open',
      from: '2014-01-01',
      to: '2017-12-31',
      hold_sessions: 5,
      cost_bps: 10,
      slippage_bps: 5,
      benchmark: 'SPY',
    });
    const cagr = within(stats).getByRole('row', { name: /CAGR/ });
    expect(within(cagr).getAllByRole('cell').map((c) => c.textContent)).toEqual(['-5.15%', '+1.51%']);
    expect(within(stats).getByRole('row', { name: /Max drawdown/ }).textContent).toContain('-12.50%');
    expect(screen.getByTestId('backtest-warnings').textContent).toContain('left out');
    expect(screen.getByTestId('backtest-summary').textContent).toContain('2 (1 invested)');
    expect(within(screen.getByTestId('backtest-summary')).getByTitle(/share of the invested periods/).textContent).toContain('Hit rate');

    const strategy = chart.series.filter((s) => s.title === 'Strategy');
    expect(strategy).toHaveLength(2); // the equity chart and the drawdown chart
    expect(strategy[0]?.setData).toHaveBeenLastCalledWith([
      { time: '2014-02-03', value: 1 },
      { time: '2014-03-03', value: 0.8985 },
      { time: '2014-04-01', value: 0.897 },
    ]);
    const drawdown = strategy[1]?.setData.mock.lastCall?.[0] as { time: string; value: number }[];
    expect(drawdown.map((p) => p.time)).toEqual(['2014-02-03', '2014-03-03', '2014-04-01']);
    expect(drawdown[2]?.value).toBeCloseTo(-10.3);

    const rows = screen.getAllByTestId('backtest-period');
    expect(rows).toHaveLength(2);
    expect(rows[1]?.textContent).toContain('cash');
    await userEvent.click(within(rows[0] as HTMLElement).getByRole('button', { expanded: false }));
    const holdings = screen.getByTestId('backtest-holdings');
    expect(within(holdings).getAllByRole('row')).toHaveLength(3);
    expect(within(holdings).getByRole('row', { name: /ZZZ/ }).textContent).toContain('delisted');
  });

  it('says when the same-close entry is chosen and shows an API error', async () => {
    const api = fakeApi((req) =>
      req.path === '/api/screens/backtest' ? errorResponse(403, 'forbidden', 'backtests are a premium feature') : undefined,
    );
    renderPage();
    await userEvent.selectOptions(screen.getByLabelText('Entry and exit'), 'same_close');
    await userEvent.click(screen.getByRole('button', { name: 'Run backtest' }));
    expect(await screen.findByText(/premium feature/)).toBeTruthy();
    expect((api.writes()[0]?.body as { entry: string }).entry).toBe('same_close');
  });
});
