import { useMemo } from 'react';
import { CardHeader } from '@/components/ui/card-header';
import { ErrorAlert } from '@/components/ui/error-alert';
import { Spinner } from '@/components/ui/spinner';
import { LineChart, type Line } from '@/components/line-chart';
import { cn } from '@/lib/cn';
import { formatInteger, formatNumber } from '@/lib/format';
import { useOperations } from '../api/operations';
import type { Operations, OperationsChart } from '../api/keys';
import { summarizeHealth, utcClock } from './operations-health';

const COLORS = ['#38bdf8', '#f87171', '#facc15', '#4ade80', '#a78bfa', '#fb923c', '#f472b6', '#2dd4bf', '#e879f9', '#94a3b8'];
const MINUTES = 60;

function formatValue(value: number | null | undefined, unit: OperationsChart['unit']): string {
  if (value === null || value === undefined) return '—';
  if (unit === 'ratio') return `${(value * 100).toFixed(1)}%`;
  if (unit === 'ms') return formatNumber(value, value < 10 ? 2 : 0);
  return formatInteger(value);
}

function linesOf(chart: OperationsChart, times: string[]): Line[] {
  const seconds = times.map((t) => Date.parse(t) / 1000);
  return chart.series.map((s, i) => ({
    title: s.label,
    color: COLORS[i % COLORS.length]!,
    points: s.values.flatMap((v, k) => (v === null ? [] : [{ time: seconds[k]!, value: v }])),
  }));
}

/** One small chart, with its figures as a table for screen readers and anyone who prefers numbers. */
function ChartCard({ chart, times }: { chart: OperationsChart; times: string[] }) {
  const lines = useMemo(() => linesOf(chart, times), [chart, times]);
  const headingId = `ops-${chart.id}-heading`;
  const rows = times.map((t, k) => ({ t, values: chart.series.map((s) => s.values[k] ?? null) })).filter((r) => r.values.some((v) => v !== null));
  const empty = lines.every((l) => l.points.length === 0);
  return (
    <section className="card flex flex-col" aria-labelledby={headingId} data-testid={`ops-chart-${chart.id}`}>
      <CardHeader id={headingId} title={chart.title} />
      <div className="p-3">
        {empty ? (
          <p className="py-8 text-center text-sm text-slate-500">No data in the last {times.length} minutes.</p>
        ) : (
          <>
            <div role="img" aria-label={`${chart.title}: chart; the figures are in the table below`}>
              <LineChart lines={lines} testId={`ops-line-${chart.id}`} intraday labels={lines.length <= 3} className="h-40 w-full" />
            </div>
            <ul className="mt-1 flex flex-wrap gap-x-3 gap-y-1 text-xs text-slate-400" aria-label={`${chart.title}: series`}>
              {lines.map((l) => (
                <li key={l.title} className="flex items-center gap-1">
                  <span className="inline-block h-0.5 w-3" style={{ background: l.color }} aria-hidden="true" />
                  {l.title}
                </li>
              ))}
            </ul>
          </>
        )}
        <details className="mt-2 text-xs">
          <summary className="cursor-pointer text-slate-400">Table of the figures</summary>
          <div className="max-h-64 overflow-auto">
            <table className="tabular mt-1 w-full">
              <caption className="sr-only">{chart.title}, per minute</caption>
              <thead className="text-left text-slate-500">
                <tr>
                  <th scope="col" className="px-2 py-1">Minute</th>
                  {chart.series.map((s) => (
                    <th key={s.label} scope="col" className="px-2 py-1">
                      {s.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.t} className="border-t border-slate-800/70">
                    <th scope="row" className="whitespace-nowrap px-2 py-0.5 font-normal text-slate-400">
                      {utcClock(r.t)}
                    </th>
                    {r.values.map((v, i) => (
                      <td key={i} className="px-2 py-0.5 text-slate-200">
                        {formatValue(v, chart.unit)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      </div>
    </section>
  );
}

function HealthCard({ data }: { data: Operations }) {
  const health = summarizeHealth(data);
  const tone = health.status === 'degraded' ? 'border-rose-500/60 bg-rose-950/30' : 'border-emerald-600/50 bg-emerald-950/20';
  return (
    <section aria-labelledby="ops-health-heading" className={cn('rounded border px-4 py-3', tone)} data-testid="ops-health" data-status={health.status}>
      <h2 id="ops-health-heading" className="text-lg font-semibold text-slate-100">
        {health.headline}
      </h2>
      {health.reasons.length > 0 && (
        <ul className="mt-1 list-disc pl-5 text-sm text-rose-200" aria-label="Problems">
          {health.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
      <ul className="mt-2 text-xs text-slate-400" aria-label="Service level objectives">
        {health.slos.map((s) => (
          <li key={s}>{s}</li>
        ))}
      </ul>
      {data.notes.map((n) => (
        <p key={n} className="mt-1 text-xs text-amber-300">
          {n}
        </p>
      ))}
    </section>
  );
}

function Totals({ data }: { data: Operations }) {
  const t = data.totals;
  const items: [string, string][] = [
    ['Requests', formatInteger(t.requests)],
    ['5xx', formatInteger(t.errors_5xx)],
    ['4xx', formatInteger(t.errors_4xx)],
    ['Rate limited', formatInteger(t.rate_limited)],
    ['Cache hit ratio', t.cache_hit_ratio === null ? '—' : `${(t.cache_hit_ratio * 100).toFixed(1)}%`],
    ['WebSocket connections', formatInteger(t.ws_connections)],
    ['Alert deliveries', formatInteger(t.alert_deliveries)],
    ['Delivery errors', formatInteger(t.alert_delivery_errors)],
    ['Ingest runs', formatInteger(t.ingest_runs)],
    ['Failed runs', formatInteger(t.ingest_failures)],
  ];
  return (
    <dl className="grid grid-cols-2 gap-2 sm:grid-cols-5" aria-label={`Totals over the last ${data.minutes} minutes`}>
      {items.map(([label, value]) => (
        <div key={label} className="card px-3 py-2">
          <dt className="text-xs text-slate-400">{label}</dt>
          <dd className="tabular text-lg text-slate-100" data-testid={`ops-total-${label.toLowerCase().replace(/\W+/g, '-')}`}>
            {value}
          </dd>
        </div>
      ))}
    </dl>
  );
}

function Routes({ data }: { data: Operations }) {
  return (
    <section className="card" aria-labelledby="ops-routes-heading">
      <CardHeader id="ops-routes-heading" title="Busiest routes" />
      {data.routes.length === 0 ? (
        <p className="px-3 py-4 text-sm text-slate-500">No API requests in the last {data.minutes} minutes.</p>
      ) : (
        <table className="tabular w-full text-sm" data-testid="ops-routes">
          <thead className="text-left text-xs text-slate-500">
            <tr>
              <th scope="col" className="px-3 py-2">Route</th>
              <th scope="col" className="px-3 py-2 text-right">Requests</th>
              <th scope="col" className="px-3 py-2 text-right">5xx</th>
              <th scope="col" className="px-3 py-2 text-right">p50 (ms)</th>
              <th scope="col" className="px-3 py-2 text-right">p99 (ms)</th>
              <th scope="col" className="px-3 py-2 text-right">Worst p99 (ms)</th>
            </tr>
          </thead>
          <tbody>
            {data.routes.map((r) => (
              <tr key={r.route} className="border-t border-slate-800/70">
                <th scope="row" className="px-3 py-1.5 text-left font-mono text-xs font-normal text-slate-200">
                  {r.route}
                </th>
                <td className="px-3 py-1.5 text-right">{formatInteger(r.requests)}</td>
                <td className="px-3 py-1.5 text-right">{formatInteger(r.errors_5xx)}</td>
                <td className="px-3 py-1.5 text-right">{formatValue(r.p50_ms, 'ms')}</td>
                <td className="px-3 py-1.5 text-right">{formatValue(r.p99_ms, 'ms')}</td>
                <td className="px-3 py-1.5 text-right">{formatValue(r.p99_max_ms, 'ms')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The platform's health over the last hour: the Grafana dashboard's figures, per minute, refreshed every 30 s. */
export function OperationsPage() {
  const ops = useOperations(MINUTES);
  const data = ops.data;
  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="text-base font-semibold text-slate-100">Operations</h1>
        {data && (
          <span className="text-xs text-slate-500">
            Last {data.minutes} minutes, per minute, from {data.source === 'cloudwatch' ? 'CloudWatch' : 'the local stack'}; until {utcClock(data.end)}; refreshed every 30 s
          </span>
        )}
        {ops.isFetching && <Spinner />}
      </div>
      {ops.isError && <ErrorAlert title="Could not load the figures" error={ops.error} onRetry={() => void ops.refetch()} />}
      {!data && !ops.isError && (
        <p className="flex items-center justify-center gap-2 py-16 text-slate-400">
          <Spinner /> Loading…
        </p>
      )}
      {data && (
        <>
          <HealthCard data={data} />
          <Totals data={data} />
          <div className="grid gap-3 lg:grid-cols-2">
            {data.charts.map((c) => (
              <ChartCard key={c.id} chart={c} times={data.times} />
            ))}
          </div>
          <Routes data={data} />
        </>
      )}
    </div>
  );
}
