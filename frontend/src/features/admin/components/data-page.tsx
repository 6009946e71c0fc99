import { useRef, useState } from 'react';
import { DataTable, type Column } from '@/components/ui/data-table';
import { ErrorAlert } from '@/components/ui/error-alert';
import { toast } from '@/components/ui/toast-store';
import { errorMessage } from '@/lib/api-client';
import { cn } from '@/lib/cn';
import { useFindings, useReleaseFinding, useRuns, useTrend, RUNS_PAGE } from '../api/data';
import type { Finding, FindingFilters, Run } from '../api/keys';
import { useUpload, useUploadStatus } from '../api/uploads';
import { TrendChart } from './trend-chart';

const FINDINGS_PAGE = 25;
const QUARANTINE_PAGE = 10;

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null) return '—';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - m * 60)} s`;
}

const shortId = (id: string) => id.slice(0, 8);

const STATUS_CLASS: Record<string, string> = {
  succeeded: 'text-emerald-300',
  failed: 'text-rose-300',
  running: 'text-sky-300',
  done: 'text-emerald-300',
  pending: 'text-slate-500',
};

/** The admins' Data page: upload a file, the runs, findings per rule over time, the findings, the quarantine. */
export function DataPage() {
  const [runId, setRunId] = useState<string | undefined>(undefined);
  return (
    <div className="grid gap-4">
      <UploadPanel onShowRun={setRunId} />
      <RunsPanel selected={runId} onSelect={setRunId} />
      <TrendPanel />
      <QuarantinePanel runId={runId} />
      <FindingsPanel runId={runId} onClearRun={() => setRunId(undefined)} />
    </div>
  );
}

function UploadPanel({ onShowRun }: { onShowRun: (runId: string) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const upload = useUpload();
  const status = useUploadStatus(upload.data?.upload_id ?? null);
  const run = status.data?.run ?? null;
  return (
    <section aria-labelledby="upload-heading" className="card p-3">
      <h2 id="upload-heading" className="text-sm font-semibold text-slate-100">
        Upload a data file
      </h2>
      <p className="mt-0.5 text-xs text-slate-500">Bars, listings or fundamentals (.csv, .txt, .gz, .zip). The file lands in the drop folder and starts an ingest run.</p>
      <form
        className="mt-2 flex flex-wrap items-center gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          if (file) upload.mutate(file);
        }}
      >
        <input
          ref={input}
          type="file"
          aria-label="Data file"
          accept=".csv,.txt,.gz,.zip"
          className="text-sm text-slate-300"
          onChange={(e) => {
            setFile(e.target.files?.[0] ?? null);
            upload.reset();
          }}
        />
        <button type="submit" className="btn-primary h-8 px-3" disabled={!file || upload.isPending}>
          {upload.isPending ? 'Uploading…' : 'Upload'}
        </button>
      </form>
      {upload.isError && (
        <div className="mt-2">
          <ErrorAlert error={upload.error} title="Upload failed" />
        </div>
      )}
      {upload.data && (
        <div className="mt-3 text-sm" data-testid="upload-progress" aria-live="polite">
          <p className="text-slate-300">
            Uploaded <span className="font-mono">{upload.data.key}</span>.{' '}
            {run === null ? (
              <span className="text-slate-400">Waiting for its ingest run to start…</span>
            ) : (
              <span>
                Run <span className="font-mono">{shortId(run.run_id)}</span>: <span className={cn('font-medium', STATUS_CLASS[run.status])}>{run.status}</span>
                {run.status !== 'running' && ` in ${formatDuration(run.duration_seconds)}`}
              </span>
            )}
          </p>
          {run && (
            <ol className="mt-2 flex flex-wrap gap-2" aria-label="Run progress">
              {run.progress.map((p) => (
                <li key={p.state} className={cn('rounded border border-slate-800 px-2 py-0.5 text-xs', STATUS_CLASS[p.status])} data-status={p.status}>
                  {p.state}: {p.status}
                </li>
              ))}
            </ol>
          )}
          {run?.error && <p className="mt-2 text-rose-300">{run.error}</p>}
          {run && run.status !== 'running' && (
            <button type="button" className="btn-secondary mt-2 h-7 px-2 text-xs" onClick={() => onShowRun(run.run_id)}>
              Show this run's findings
            </button>
          )}
        </div>
      )}
    </section>
  );
}

function RunsPanel({ selected, onSelect }: { selected?: string; onSelect: (runId: string) => void }) {
  const [offset, setOffset] = useState(0);
  const runs = useRuns(offset);
  const columns: Column<Run>[] = [
    { id: 'run', header: 'Run', className: 'font-mono text-xs text-slate-300', cell: (r) => shortId(r.run_id) },
    { id: 'started', header: 'Started', className: 'text-slate-400', cell: (r) => r.started_at.replace('T', ' ').slice(0, 19) },
    { id: 'status', header: 'Status', className: (r) => cn('font-medium', STATUS_CLASS[r.status]), cell: (r) => r.status },
    { id: 'duration', header: 'Duration', headerClassName: 'text-right', className: 'text-right tabular-nums text-slate-300', cell: (r) => formatDuration(r.duration_seconds) },
    {
      id: 'report',
      header: 'Report',
      className: 'text-xs text-slate-400',
      cell: (r) => {
        const report = (r.stats as { report?: { inserted?: number; quarantined?: number } }).report;
        return r.error ? <span className="text-rose-300">{r.error}</span> : report ? `${report.inserted ?? 0} inserted, ${report.quarantined ?? 0} quarantined` : '—';
      },
    },
    {
      id: 'findings',
      className: 'text-right',
      cell: (r) => (
        <button type="button" className="btn-ghost h-7 px-2 text-xs" onClick={() => onSelect(r.run_id)} aria-label={`Findings of run ${shortId(r.run_id)}`}>
          Findings
        </button>
      ),
    },
  ];
  return (
    <section aria-labelledby="runs-heading" className="card">
      <h2 id="runs-heading" className="border-b border-slate-800 px-3 py-2 text-sm font-semibold text-slate-100">
        Ingest runs {runs.data && <span className="font-normal text-slate-500">({runs.data.count})</span>}
      </h2>
      <DataTable
        query={runs}
        columns={columns}
        rowKey={(r) => r.run_id}
        rowTestId={(r) => `run-${r.run_id}`}
        rowClassName={(r) => selected === r.run_id && 'bg-slate-800/50'}
        onRetry={() => void runs.refetch()}
        paging={{ offset, pageSize: RUNS_PAGE, onOffset: setOffset }}
      />
    </section>
  );
}

function TrendPanel() {
  const [days, setDays] = useState(30);
  const trend = useTrend(days);
  return (
    <section aria-labelledby="trend-heading" className="card pb-2">
      <div className="flex items-center gap-2 border-b border-slate-800 px-3 py-2">
        <h2 id="trend-heading" className="text-sm font-semibold text-slate-100">
          Findings per rule over time
        </h2>
        <select aria-label="Period" className="select ml-auto h-7" value={days} onChange={(e) => setDays(Number(e.target.value))}>
          <option value={7}>7 days</option>
          <option value={30}>30 days</option>
          <option value={90}>90 days</option>
        </select>
      </div>
      {trend.isError && <ErrorAlert error={trend.error} />}
      {trend.data && <TrendChart points={trend.data.data} />}
    </section>
  );
}

/** A quarantined row's open, high, low, close and volume as parsed ("—" when missing). */
const VALUE_COLUMNS: Column<Finding>[] = ['open', 'high', 'low', 'close', 'volume'].map((k) => ({
  id: k,
  header: k[0]!.toUpperCase() + k.slice(1),
  headerClassName: 'text-right',
  className: 'text-right tabular-nums text-slate-300',
  cell: (f) => {
    const v = (f.values ?? {}) as Record<string, unknown>;
    return v[k] == null ? '—' : String(v[k]);
  },
}));

const where = (f: Finding) => (f.file ? `${f.file}${f.line != null ? `:${f.line}` : ''}` : '—');

/** The raw line as read, when the finding kept it ("" otherwise). */
const rawOf = (f: Finding) => (typeof f.raw?.raw === 'string' ? f.raw.raw : '');

const FINDING_COLUMNS: Column<Finding>[] = [
  { id: 'rule', header: 'Rule', className: 'font-mono text-xs text-slate-200', cell: (f) => f.rule },
  {
    id: 'severity',
    header: 'Severity',
    className: (f) => cn('text-xs', f.severity === 'error' ? 'text-rose-300' : f.severity === 'warning' ? 'text-amber-300' : 'text-slate-400'),
    cell: (f) => f.severity,
  },
  { id: 'action', header: 'Action', className: 'text-xs text-slate-400', cell: (f) => f.action },
  { id: 'symbol', header: 'Symbol', className: 'text-slate-200', cell: (f) => f.symbol ?? '—' },
  { id: 'date', header: 'Date', className: 'text-slate-400', cell: (f) => f.date ?? '—' },
  { id: 'file', header: 'File', className: 'font-mono text-xs text-slate-400', cell: where },
  { id: 'message', header: 'Message', className: 'text-slate-300', cell: (f) => f.message },
];

function QuarantinePanel({ runId }: { runId?: string }) {
  const [offset, setOffset] = useState(0);
  const filters: FindingFilters = { run_id: runId, action: 'quarantined', offset, limit: QUARANTINE_PAGE };
  const rows = useFindings(filters);
  const release = useReleaseFinding();
  const columns: Column<Finding>[] = [
    { id: 'symbol', header: 'Symbol', className: 'font-medium text-slate-200', cell: (f) => f.symbol ?? '—' },
    { id: 'date', header: 'Date', className: 'text-slate-400', cell: (f) => f.date ?? '—' },
    { id: 'rule', header: 'Rule', className: 'font-mono text-xs text-rose-300', title: (f) => f.message, cell: (f) => f.rule },
    { id: 'file', header: 'File', className: 'font-mono text-xs text-slate-400', cell: where },
    ...VALUE_COLUMNS,
    { id: 'raw', header: 'Raw', className: 'max-w-[14rem] truncate font-mono text-[11px] text-slate-500', title: rawOf, cell: rawOf },
    {
      id: 'release',
      className: 'text-right',
      cell: (f) =>
        f.released_at ? (
          <span className="text-xs text-emerald-300">{f.loaded_run_id ? 'released, loaded' : 'released'}</span>
        ) : f.releasable ? (
          <button
            type="button"
            className="btn-secondary h-7 px-2 text-xs"
            disabled={release.isPending}
            aria-label={`Release ${f.symbol} ${f.date}`}
            onClick={() =>
              release.mutate(
                { id: f.id },
                {
                  onSuccess: (r) => toast({ title: `Released ${r.symbol} ${r.date}: the next run loads it`, tone: 'success' }),
                  onError: (e) => toast({ title: errorMessage(e), tone: 'error' }),
                },
              )
            }
          >
            Release
          </button>
        ) : null,
    },
  ];
  return (
    <section aria-labelledby="quarantine-heading" className="card">
      <h2 id="quarantine-heading" className="border-b border-slate-800 px-3 py-2 text-sm font-semibold text-slate-100">
        Quarantined rows {rows.data && <span className="font-normal text-slate-500">({rows.data.count})</span>}
        {runId && <span className="ml-2 font-normal text-slate-500">run {shortId(runId)}</span>}
      </h2>
      <DataTable
        query={rows}
        columns={columns}
        rowKey={(f) => f.id}
        rowTestId={(f) => `quarantined-${f.id}`}
        empty="Nothing quarantined."
        paging={{ offset, pageSize: QUARANTINE_PAGE, onOffset: setOffset }}
      />
    </section>
  );
}

function FindingsPanel({ runId, onClearRun }: { runId?: string; onClearRun: () => void }) {
  const [rule, setRule] = useState('');
  const [symbol, setSymbol] = useState('');
  const [severity, setSeverity] = useState<FindingFilters['severity']>('');
  const [offset, setOffset] = useState(0);
  const filters: FindingFilters = { run_id: runId, rule: rule.trim() || undefined, symbol: symbol.trim() || undefined, severity, offset, limit: FINDINGS_PAGE };
  const findings = useFindings(filters);
  const reset = <T,>(set: (v: T) => void) => (v: T) => {
    set(v);
    setOffset(0);
  };
  return (
    <section aria-labelledby="findings-heading" className="card">
      <div className="flex flex-wrap items-center gap-2 border-b border-slate-800 px-3 py-2">
        <h2 id="findings-heading" className="text-sm font-semibold text-slate-100">
          Findings {findings.data && <span className="font-normal text-slate-500">({findings.data.count})</span>}
        </h2>
        {runId && (
          <button type="button" className="btn-ghost h-7 px-2 text-xs" onClick={onClearRun} aria-label="Show every run's findings">
            run {shortId(runId)} ×
          </button>
        )}
        <input aria-label="Rule" placeholder="rule" className="input ml-auto h-7 w-40" value={rule} onChange={(e) => reset(setRule)(e.target.value)} />
        <input aria-label="Symbol" placeholder="symbol" className="input h-7 w-24" value={symbol} onChange={(e) => reset(setSymbol)(e.target.value)} />
        <select aria-label="Severity" className="select h-7" value={severity} onChange={(e) => reset(setSeverity)(e.target.value as FindingFilters['severity'])}>
          <option value="">any severity</option>
          <option value="error">error</option>
          <option value="warning">warning</option>
          <option value="info">info</option>
        </select>
      </div>
      <DataTable
        query={findings}
        columns={FINDING_COLUMNS}
        rowKey={(f) => f.id}
        rowTestId={(f) => `finding-${f.id}`}
        empty="No findings match."
        paging={{ offset, pageSize: FINDINGS_PAGE, onOffset: setOffset }}
      />
    </section>
  );
}
