import type { AdminUser, AuditEntry, Finding, Operations, Run, RunProgress } from '../api/keys';

export const RUN_A = 'aaaaaaaa-0000-4000-8000-00000000a001';
export const RUN_B = 'bbbbbbbb-0000-4000-8000-00000000a002';

export function run(id: string, overrides: Partial<Run> = {}): Run {
  return {
    run_id: id,
    status: 'succeeded',
    started_at: '2026-12-03T09:00:00+00:00',
    finished_at: '2026-12-03T09:00:42.5+00:00',
    duration_seconds: 42.5,
    stats: { report: { inserted: 8816, quarantined: 26 } },
    error: null,
    ...overrides,
  };
}

export function finding(id: number, overrides: Partial<Finding> = {}): Finding {
  return {
    id,
    run_id: RUN_A,
    rule: 'bad_print',
    severity: 'error',
    action: 'quarantined',
    symbol: 'LNT',
    date: '2016-05-19',
    file: 'bars-sample.csv.gz',
    line: 4242,
    message: 'close 52.1 between 36.88 and 37.03: a one-day bad print',
    raw: { file: 'bars-sample.csv.gz', line: 4242, open: 37, high: 37.2, low: 36.8, close: 52.1, volume: 1200 },
    values: { open: 37, high: 37.2, low: 36.8, close: 52.1, volume: 1200 },
    releasable: true,
    released_at: null,
    released_by: null,
    loaded_run_id: null,
    ...overrides,
  };
}

export function progress(statuses: Record<string, RunProgress['progress'][number]['status']>): RunProgress['progress'] {
  return ['Plan', 'FetchBatches', 'Validate', 'LoadReference', 'LoadBatches', 'Aggregate', 'Publish', 'Report'].map((state) => ({
    state,
    status: statuses[state] ?? 'pending',
  }));
}

export function user(email: string, overrides: Partial<AdminUser> = {}): AdminUser {
  return {
    id: `00000000-0000-4000-8000-${email.length.toString().padStart(12, '0')}`,
    email,
    display_name: null,
    role: 'free',
    disabled: false,
    created_at: '2026-11-01T10:00:00+00:00',
    last_login_at: null,
    ...overrides,
  };
}

export function auditEntry(id: number, action: string, details: Record<string, unknown> = {}): AuditEntry {
  return {
    id,
    at: '2026-12-03T09:10:00+00:00',
    actor_id: '00000000-0000-4000-8000-000000000001',
    action,
    target: '42',
    ip: '127.0.0.1',
    user_agent: 'test',
    request_id: `r${id}`,
    details,
  };
}

/** The minutes 12:00..12:59 UTC and a series with `values` on the last minutes (null before). */
export const OPS_TIMES = Array.from({ length: 60 }, (_, i) => `2026-12-03T12:${String(i).padStart(2, '0')}:00Z`);
const tail = (values: number[]) => [...Array<number | null>(60 - values.length).fill(null), ...values];

/** An Operations response: requests over the last minutes, a degraded hour unless `healthy`. */
export function operations(overrides: Partial<Operations> = {}, { healthy = false } = {}): Operations {
  return {
    source: 'local',
    start: OPS_TIMES[0]!,
    end: '2026-12-03T13:00:00Z',
    minutes: 60,
    times: OPS_TIMES,
    health: healthy
      ? { status: 'healthy', problems: [] }
      : {
          status: 'degraded',
          problems: [
            { code: 'errors_5xx', message: '5xx above 1% of requests since 12:41 UTC', since: '2026-12-03T12:41:00Z', value: 0.08, threshold: 0.01 },
            { code: 'dead_letters', message: '2 message(s) in the dead-letter queue stockscreen-alert-delivery-dlq since 12:50 UTC', since: '2026-12-03T12:50:00Z', value: 2, threshold: 0 },
          ],
        },
    notes: [],
    slos: [
      { name: 'availability', objective: 0.999, requests: 1200, bad: 96, sli: 0.92, burn_rate: 80, budget_burned_pct: 11.1111, met: false },
      { name: 'latency', objective: 0.99, requests: 1200, bad: 0, sli: 1, burn_rate: 0, budget_burned_pct: 0, met: true },
    ],
    totals: {
      requests: 1200,
      errors_5xx: 96,
      errors_4xx: 12,
      rate_limited: 3,
      cache_hit_ratio: 0.75,
      ingest_runs: 1,
      ingest_failures: 0,
      alert_deliveries: 4,
      alert_delivery_errors: 0,
      ws_connections: 5,
    },
    routes: [{ route: 'GET /screener/fields', requests: 1000, errors_5xx: 96, p50_ms: 4.5, p99_ms: 38, p99_max_ms: 120 }],
    charts: [
      { id: 'requests', title: 'Requests per minute', unit: 'count', series: [{ label: 'requests', values: tail([60, 61]) }, { label: '5xx', values: tail([0, 5]) }] },
      { id: 'latency', title: 'Latency of the busiest routes (ms)', unit: 'ms', series: [{ label: 'GET /screener/fields p99', values: tail([38]) }] },
      { id: 'ws', title: 'Open WebSocket connections', unit: 'count', series: [{ label: 'connections', values: tail([]) }] },
    ],
    ...overrides,
  };
}
