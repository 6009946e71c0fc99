import type { AdminUser, AuditEntry, Finding, Run, RunProgress } from '../api/keys';

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
