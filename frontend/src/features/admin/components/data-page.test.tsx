import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { ToastOutlet } from '@/components/ui/toast-store';
import { setSession } from '@/lib/session';
import { fakeApi } from '@/test/fake-api';
import { jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';
import type { Finding, UploadStatus } from '../api/keys';
import { DataPage, formatDuration } from './data-page';
import { finding, progress, run, RUN_A, RUN_B } from './fixtures';

const BUCKET = 'http://127.0.0.1:4566/stockscreen-raw';
const UPLOAD = '00000000-0000-4000-8000-0000000000f1';

function dataApi({ statuses = [] as UploadStatus['run'][] } = {}) {
  const state = {
    findings: [
      finding(1),
      finding(2, { rule: 'missing_price', symbol: 'MMM', date: null, file: 'bars.csv', line: 9, values: null, releasable: false, raw: { file: 'bars.csv', line: 9, raw: '2016-05-19,,1,1,1,1,MMM' } }),
      finding(3, { rule: 'calendar_gap', severity: 'warning', action: 'loaded', symbol: 'AAPL', file: null, line: null, raw: null, values: null, releasable: false }),
    ] as Finding[],
    statuses: [...statuses],
    bucketForm: null as FormData | null,
  };
  const api = fakeApi((req) => {
    if (req.path === '/api/admin/ingest-runs') return jsonResponse({ data: [run(RUN_A), run(RUN_B, { status: 'failed', error: 'bars.csv:3: bad header', duration_seconds: 1.25 })], count: 2 });
    if (req.path === '/api/admin/findings/trend')
      return jsonResponse({
        data: [
          { day: '2026-12-01', rule: 'bad_print', severity: 'error', count: 2 },
          { day: '2026-12-03', rule: 'bad_print', severity: 'error', count: 1 },
          { day: '2026-12-03', rule: 'calendar_gap', severity: 'warning', count: 5 },
        ],
      });
    if (req.path === '/api/admin/findings') {
      let rows = state.findings;
      const q = req.query;
      if (q.get('action')) rows = rows.filter((f) => f.action === q.get('action'));
      if (q.get('rule')) rows = rows.filter((f) => f.rule === q.get('rule'));
      if (q.get('severity')) rows = rows.filter((f) => f.severity === q.get('severity'));
      if (q.get('run_id')) rows = rows.filter((f) => f.run_id === q.get('run_id'));
      return jsonResponse({ data: rows, count: rows.length });
    }
    if (req.path === '/api/admin/findings/1/release' && req.method === 'POST') {
      state.findings = state.findings.map((f) => (f.id === 1 ? { ...f, releasable: false, released_at: '2026-12-03T10:00:00+00:00' } : f));
      return jsonResponse({ id: 7, finding_id: 1, run_id: RUN_A, rule: 'bad_print', symbol: 'LNT', date: '2016-05-19', values: { close: 52.1 }, note: null }, 201);
    }
    if (req.path === '/api/admin/uploads' && req.method === 'POST')
      return jsonResponse(
        {
          upload_id: UPLOAD,
          key: `incoming/${UPLOAD}/aapl.csv`,
          url: BUCKET,
          fields: { key: `incoming/${UPLOAD}/aapl.csv`, 'Content-Type': 'text/csv', policy: 'p', 'x-amz-signature': 's' },
          content_type: 'text/csv',
          max_bytes: 1000,
          expires_in: 900,
        },
        201,
      );
    if (req.url === BUCKET && req.method === 'POST') {
      state.bucketForm = req.body as FormData;
      return new Response(null, { status: 204 });
    }
    if (req.path === `/api/admin/uploads/${UPLOAD}`) {
      const next = state.statuses.length > 1 ? state.statuses.shift()! : (state.statuses[0] ?? null);
      return jsonResponse({ upload_id: UPLOAD, run: next });
    }
    return undefined;
  });
  return { ...api, state };
}

function renderPage() {
  return renderWithProviders(
    <>
      <DataPage />
      <ToastOutlet />
    </>,
  );
}

describe('admin data page', () => {
  beforeEach(() => {
    setSession(tokenFixture({ role: 'admin' }));
  });

  it('lists runs with their status and duration, and charts findings per rule over time', async () => {
    dataApi();
    renderPage();
    const runs = await screen.findByRole('region', { name: /ingest runs/i });
    const a = await within(runs).findByTestId(`run-${RUN_A}`);
    expect(within(a).getByText('succeeded')).toBeInTheDocument();
    expect(within(a).getByText('42.5 s')).toBeInTheDocument();
    expect(within(a).getByText('8816 inserted, 26 quarantined')).toBeInTheDocument();
    const b = within(runs).getByTestId(`run-${RUN_B}`);
    expect(within(b).getByText('failed')).toBeInTheDocument();
    expect(within(b).getByText('bars.csv:3: bad header')).toBeInTheDocument();
    const chart = await screen.findByRole('img', { name: 'Findings per rule over 2 day(s)' });
    expect(chart.querySelectorAll('rect[data-rule="bad_print"]')).toHaveLength(2);
    expect(chart.querySelectorAll('rect[data-rule="calendar_gap"]')).toHaveLength(1);
    expect(within(screen.getByRole('list', { name: 'Rules' })).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['bad_print', 'calendar_gap']);
    expect(formatDuration(125)).toBe('2 min 5 s');
  });

  it('filters and pages the findings through the API', async () => {
    const api = dataApi();
    renderPage();
    const panel = await screen.findByRole('region', { name: /^findings( \(\d+\))?$/i });
    await within(panel).findByTestId('finding-3');
    expect(within(panel).getByText('bars-sample.csv.gz:4242')).toBeInTheDocument();
    await userEvent.type(within(panel).getByLabelText('Rule'), 'calendar_gap');
    await waitFor(() => expect(within(panel).queryByTestId('finding-1')).not.toBeInTheDocument());
    expect(within(panel).getByTestId('finding-3')).toBeInTheDocument();
    await userEvent.selectOptions(within(panel).getByLabelText('Severity'), 'error');
    await waitFor(() => expect(within(panel).getByText('No findings match.')).toBeInTheDocument());
    const last = api.sent.filter((s) => s.path === '/api/admin/findings' && !s.query.get('action')).at(-1)!;
    expect(Object.fromEntries(last.query)).toMatchObject({ rule: 'calendar_gap', severity: 'error', offset: '0', limit: '25' });
    // a run's findings: its button narrows both lists to it
    await userEvent.click(screen.getByRole('button', { name: `Findings of run ${RUN_B.slice(0, 8)}` }));
    await waitFor(() => expect(api.sent.some((s) => s.path === '/api/admin/findings' && s.query.get('run_id') === RUN_B && s.query.get('action') === 'quarantined')).toBe(true));
  });

  it('shows quarantined rows with their raw values and releases one after review', async () => {
    const api = dataApi();
    renderPage();
    const panel = await screen.findByRole('region', { name: /quarantined rows/i });
    const row = await within(panel).findByTestId('quarantined-1');
    expect(within(row).getByText('52.1')).toBeInTheDocument();
    expect(within(row).getByText('bars-sample.csv.gz:4242')).toBeInTheDocument();
    const unparsed = within(panel).getByTestId('quarantined-2');
    expect(within(unparsed).getByText('2016-05-19,,1,1,1,1,MMM')).toBeInTheDocument();
    expect(within(unparsed).queryByRole('button', { name: /release/i })).not.toBeInTheDocument();
    await userEvent.click(within(row).getByRole('button', { name: 'Release LNT 2016-05-19' }));
    await waitFor(() => expect(api.writes()).toHaveLength(1));
    expect(await screen.findByText('Released LNT 2016-05-19: the next run loads it', {}, { timeout: 5000 })).toBeInTheDocument();
    await waitFor(() => expect(within(within(panel).getByTestId('quarantined-1')).getByText('released')).toBeInTheDocument());
    expect(api.writes().map((w) => `${w.method} ${w.path}`)).toEqual(['POST /api/admin/findings/1/release']);
  });

  it('uploads a file through the presigned POST and follows its run live', async () => {
    const started = run(RUN_A, { status: 'running', finished_at: null, duration_seconds: 0.4 });
    const api = dataApi({
      statuses: [
        null,
        { ...started, progress: progress({ Plan: 'done', FetchBatches: 'running' }) },
        { ...run(RUN_A), progress: progress(Object.fromEntries(['Plan', 'FetchBatches', 'Validate', 'LoadReference', 'LoadBatches', 'Aggregate', 'Publish', 'Report'].map((s) => [s, 'done']))) },
      ],
    });
    renderPage();
    const file = new File(['date,open,high,low,close,volume,Name\n'], 'aapl.csv', { type: 'text/csv' });
    await userEvent.upload(screen.getByLabelText('Data file'), file);
    await userEvent.click(screen.getByRole('button', { name: 'Upload' }));
    const box = await screen.findByTestId('upload-progress');
    expect(within(box).getByText(`incoming/${UPLOAD}/aapl.csv`)).toBeInTheDocument();
    expect(await within(box).findByText('FetchBatches: running', {}, { timeout: 4000 })).toBeInTheDocument();
    expect(await within(box).findByText('Report: done', {}, { timeout: 4000 })).toBeInTheDocument();
    expect(within(box).getByText('succeeded')).toBeInTheDocument();
    // the API signed the upload for this file; the form went to the bucket with its fields and the file last
    const presign = api.sent.find((s) => s.path === '/api/admin/uploads')!;
    expect(presign.body).toEqual({ filename: 'aapl.csv', size: file.size });
    const form = api.state.bucketForm!;
    expect([...form.keys()]).toEqual(['key', 'Content-Type', 'policy', 'x-amz-signature', 'file']);
    expect((form.get('file') as File).name).toBe('aapl.csv');
    await userEvent.click(within(box).getByRole('button', { name: "Show this run's findings" }));
    await waitFor(() => expect(api.sent.some((s) => s.path === '/api/admin/findings' && s.query.get('run_id') === RUN_A)).toBe(true));
  });
});
