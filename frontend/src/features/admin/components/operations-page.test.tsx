import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { setSession } from '@/lib/session';
import { charts, resetCharts } from '@/test/fake-chart';
import { fakeApi } from '@/test/fake-api';
import { jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';
import { OPERATIONS_REFRESH_MS, operationsQueryOptions } from '../api/operations';
import { operations } from './fixtures';
import { summarizeHealth, utcClock } from './operations-health';
import { OperationsPage } from './operations-page';

// jsdom has no canvas: a fake lightweight-charts that records the series data.
vi.mock('lightweight-charts', () => import('@/test/fake-chart'));

describe('the Operations health summary', () => {
  it('says degraded, why, and since the earliest problem', () => {
    const s = summarizeHealth(operations());
    expect(s.status).toBe('degraded');
    expect(s.headline).toBe('Degraded since 12:41 UTC: 2 problems');
    expect(s.reasons[0]).toBe('5xx above 1% of requests since 12:41 UTC');
    expect(s.slos[0]).toBe('availability 92% (objective 99.9%): 11.11% of the 30-day budget spent, burn rate 80.0x');
  });

  it('says healthy, or healthy and idle when nothing was asked', () => {
    expect(summarizeHealth(operations({}, { healthy: true })).headline).toBe('Healthy');
    const idle = operations({ totals: { ...operations().totals, requests: 0 } }, { healthy: true });
    expect(summarizeHealth(idle)).toMatchObject({ status: 'idle', headline: 'Healthy: no API requests in the last 60 min' });
    expect(summarizeHealth(idle).slos).toHaveLength(2);
  });

  it('reads the API minutes as UTC', () => {
    expect(utcClock('2026-12-03T09:05:00Z')).toBe('09:05 UTC');
    expect(utcClock('2026-12-03T09:05:00+02:00')).toBe('07:05 UTC');
  });
});

describe('the Operations page', () => {
  beforeEach(() => {
    setSession(tokenFixture({ role: 'admin' }));
    resetCharts();
  });

  it('draws the figures from the response: health, totals, charts with their tables, busiest routes', async () => {
    const api = fakeApi((req) => (req.path === '/api/admin/operations' ? jsonResponse(operations()) : undefined));
    renderWithProviders(<OperationsPage />);
    const health = await screen.findByTestId('ops-health');
    expect(health).toHaveAttribute('data-status', 'degraded');
    expect(within(health).getByRole('heading', { level: 2 })).toHaveTextContent('Degraded since 12:41 UTC: 2 problems');
    expect(within(within(health).getByRole('list', { name: 'Problems' })).getAllByRole('listitem')).toHaveLength(2);
    expect(api.sent[0]!.query.get('minutes')).toBe('60');
    expect(screen.getByRole('heading', { level: 1, name: 'Operations' })).toBeInTheDocument();
    expect(screen.getByTestId('ops-total-requests')).toHaveTextContent('1,200');
    expect(screen.getByTestId('ops-total-cache-hit-ratio')).toHaveTextContent('75.0%');

    // the requests chart: two lines over the minutes that have data, as seconds since the epoch
    const requests = screen.getByTestId('ops-chart-requests');
    expect(within(requests).getByRole('heading', { name: 'Requests per minute' })).toBeInTheDocument();
    const drawn = charts.filter((c) => !c.removed);
    const requestSeries = drawn[0]!.series.map((s) => ({ title: s.options.title, data: s.data }));
    expect(requestSeries).toEqual([
      { title: 'requests', data: [{ time: Date.parse('2026-12-03T12:58:00Z') / 1000, value: 60 }, { time: Date.parse('2026-12-03T12:59:00Z') / 1000, value: 61 }] },
      { title: '5xx', data: [{ time: Date.parse('2026-12-03T12:58:00Z') / 1000, value: 0 }, { time: Date.parse('2026-12-03T12:59:00Z') / 1000, value: 5 }] },
    ]);
    // its table fallback: the minutes with data, one column per series
    await userEvent.click(within(requests).getByText('Table of the figures'));
    const table = within(requests).getByRole('table');
    const rows = within(table).getAllByRole('row');
    expect(rows.map((r) => r.textContent)).toEqual(['Minuterequests5xx', '12:58 UTC600', '12:59 UTC615']);

    // a chart without data says so instead of drawing an empty frame
    expect(within(screen.getByTestId('ops-chart-ws')).getByText('No data in the last 60 minutes.')).toBeInTheDocument();
    const routes = screen.getByTestId('ops-routes');
    expect(within(routes).getByRole('rowheader', { name: 'GET /screener/fields' })).toBeInTheDocument();
    expect(within(routes).getAllByRole('row')[1]!.textContent).toBe('GET /screener/fields1,000964.5038120');
  });

  it('refreshes every 30 seconds', () => {
    expect(OPERATIONS_REFRESH_MS).toBe(30_000);
    expect(operationsQueryOptions(60).refetchInterval).toBe(30_000);
  });

  it('shows notes and an error with a retry', async () => {
    let fail = true;
    fakeApi((req) => {
      if (req.path !== '/api/admin/operations') return undefined;
      if (fail) return jsonResponse({ error: { code: 'unavailable', message: 'CloudWatch refused the query: Throttling', details: { retry_after: 5 }, request_id: 'r' } }, 503);
      return jsonResponse(operations({ notes: ['latency percentiles are missing: CloudWatch refused the query'] }, { healthy: true }));
    });
    renderWithProviders(<OperationsPage />);
    expect(await screen.findByText('Could not load the figures')).toBeInTheDocument();
    fail = false;
    await userEvent.click(screen.getByRole('button', { name: /retry/i }));
    expect(await screen.findByText('latency percentiles are missing: CloudWatch refused the query')).toBeInTheDocument();
    expect(screen.getByTestId('ops-health')).toHaveAttribute('data-status', 'healthy');
  });
});
