import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { setSession } from '@/lib/session';
import { fakeApi } from '@/test/fake-api';
import { errorResponse, jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';
import type { Report, ReportSchedule } from '../api/keys';
import { ReportsPage } from './reports-page';

const REPORTS: Report[] = [
  { id: 'r1', kind: 'screen', period: 'p1', title: 'Screen report: Cheap', status: 'stored', has_csv: true, pdf_bytes: 20480, created_at: '2026-12-03T09:00:00Z', sent_at: null },
  { id: 'r2', kind: 'daily', period: '2018-02-07', title: 'Daily digest, 2018-02-07', status: 'sent', has_csv: false, pdf_bytes: 4096, created_at: '2026-12-02T09:00:00Z', sent_at: '2026-12-02T09:01:00Z' },
];

function reportsApi() {
  const state: { schedule: ReportSchedule } = {
    schedule: { daily_enabled: false, weekly_enabled: false, weekly_day: 'saturday', send_time: '08:00', time_zone: 'UTC' },
  };
  const api = fakeApi((req) => {
    if (req.path === '/api/reports') return jsonResponse({ data: REPORTS, count: REPORTS.length });
    if (req.path === '/api/reports/r1/download') return jsonResponse({ url: `https://s3.local/r1.${req.query.get('format')}?sig`, expires_at: 'x' });
    if (req.path === '/api/reports/schedule' && req.method === 'GET') return jsonResponse(state.schedule);
    if (req.path === '/api/reports/schedule' && req.method === 'PUT') {
      const body = req.body as ReportSchedule;
      if (body.time_zone === 'Mars/Olympus') return errorResponse(400, 'validation_error', 'unknown time zone');
      state.schedule = body;
      return jsonResponse(state.schedule);
    }
    return undefined;
  });
  return { ...api, state };
}

describe('reports page', () => {
  it('lists the reports and downloads a PDF and a CSV through fresh links', async () => {
    setSession(tokenFixture());
    reportsApi();
    const open = vi.fn();
    renderWithProviders(<ReportsPage open={open} />);
    const rows = await screen.findAllByTestId('report-row');
    expect(rows).toHaveLength(2);
    expect(within(rows[1]!).getByText('Emailed')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Download Screen report: Cheap as PDF' }));
    await waitFor(() => expect(open).toHaveBeenCalledWith('https://s3.local/r1.pdf?sig'));
    await userEvent.click(screen.getByRole('button', { name: 'Download Screen report: Cheap as CSV' }));
    await waitFor(() => expect(open).toHaveBeenCalledWith('https://s3.local/r1.csv?sig'));
    expect(screen.queryByRole('button', { name: 'Download Daily digest, 2018-02-07 as CSV' })).toBeNull();
  });

  it('saves the schedule with a time zone', async () => {
    setSession(tokenFixture());
    const api = reportsApi();
    renderWithProviders(<ReportsPage open={vi.fn()} />);
    const form = await screen.findByRole('form', { name: 'Report schedule' });
    await userEvent.click(within(form).getByLabelText(/Daily digest/));
    await userEvent.selectOptions(within(form).getByLabelText('Time zone'), 'UTC');
    await userEvent.click(within(form).getByRole('button', { name: 'Save schedule' }));
    await screen.findByText('Saved');
    const put = api.sent.find((r) => r.method === 'PUT')!;
    expect(put.body).toEqual({ daily_enabled: true, weekly_enabled: false, weekly_day: 'saturday', send_time: '08:00', time_zone: 'UTC' });
  });
});
