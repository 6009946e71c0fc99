import type { AlertEvent, Alert } from '@/features/alerts/api/keys';
import type { NotificationPreferences } from '@/features/alerts/preferences-types';
import { fakeApi, noContent, screenerCatalogue, type Route, type SentRequest } from './fake-api';
import { errorResponse, jsonResponse } from './utils';

export const SCREEN = '00000000-0000-4000-8000-000000000009';
export const WATCHLIST = '00000000-0000-4000-8000-0000000000a1';

export function alertFixture(n: number, rule: Record<string, unknown>, overrides: Partial<Alert> = {}): Alert {
  return {
    id: `00000000-0000-4000-8000-00000000001${n}`,
    name: null,
    active: true,
    rule,
    created_at: '',
    updated_at: '',
    trigger: 'once_per_day',
    hysteresis_pct: 0.2,
    expires_at: null,
    snoozed_until: null,
    completed_at: null,
    fired_count: 0,
    last_fired_at: null,
    cooldown_minutes: 0,
    ...overrides,
  };
}

export function eventFixture(id: number, alertId: string, overrides: Partial<AlertEvent> = {}): AlertEvent {
  return {
    id,
    alert_id: alertId,
    symbol: 'AAPL',
    fired_at: '2018-02-07T15:04:05Z',
    source: 'live',
    snapshot_version: null,
    value: 160.25,
    level: 160,
    message: 'AAPL price 160.25 rose above 160 (160)',
    details: { type: 'crossing_up', rule: { symbol: 'AAPL', field: 'close', level: 160 }, leg: 0, name: null },
    delivery: { queued_at: '2018-02-07T15:04:05Z', in_app: 'sent', websocket: 'sent to 1', email: 'failed: ClientError', sns: 'off' },
    ...overrides,
  };
}

/** A query-language refusal as POST /screens/parse gives it (stockscreen.screening.language). */
export function parseError(line: number, column: number, found: string) {
  return errorResponse(400, 'invalid_query', `syntax error at line ${line}, column ${column}: unexpected ${found}; expected NUMBER, FIELD`, {
    line,
    column,
    expected: ['NUMBER', 'FIELD'],
    context: '',
  });
}

/**
 * The alerts API in memory, with the free plan's 5 active alerts: list, create (refusing a price of 0 and
 * a channel whose bounds are the wrong way round), update, delete, each alert's history, the screener's
 * parser (anything with "<<" or ending in an operator is a syntax error), saved screens and watchlists;
 * `extra` routes answer first.
 */
export function alertsApi(initial: Alert[] = [], { limit = 5, history = {} as Record<string, AlertEvent[]>, extra = [] as Route[] } = {}) {
  const state = { alerts: [...initial], next: 5, history };
  const quota = () =>
    errorResponse(403, 'forbidden', `quota reached: active alerts is limited to ${limit} on the free plan`, {
      quota: 'active_alerts',
      limit,
      used: state.alerts.filter((a) => a.active).length,
      role: 'free',
    });
  const full = () => state.alerts.filter((a) => a.active).length >= limit;
  const api = fakeApi(...extra, screenerCatalogue, (req: SentRequest) => {
    if (req.path === '/api/screens/saved') return jsonResponse({ data: [{ id: SCREEN, name: 'Value' }], count: 1 });
    if (req.path === '/api/watchlists')
      return jsonResponse({ data: [{ id: WATCHLIST, name: 'Tech', position: 0, item_count: 3, created_at: '', updated_at: '' }], count: 1 });
    if (req.path === '/api/securities') return jsonResponse({ data: [{ symbol: 'AAPL', name: 'Apple Inc.', sector: null, industry: null }], count: 1 });
    if (req.path === '/api/screens/parse' && req.method === 'POST') {
      const q = String((req.body as { query: string }).query);
      const bad = q.indexOf('<<');
      if (bad >= 0) return parseError(1, bad + 2, "'<'");
      if (/[<>=*+-]\s*$/.test(q)) return parseError(1, q.length + 1, 'end of query');
      return jsonResponse({ query: q.replace(/\s+/g, ' '), ast: null });
    }
    if (req.path === '/api/alerts' && req.method === 'GET') return jsonResponse({ data: state.alerts, count: state.alerts.length });
    if (req.path === '/api/alerts' && req.method === 'POST') {
      const body = req.body as { name: string | null; rule: Record<string, unknown>; active: boolean };
      if (body.rule.type === 'price_above' && !(Number(body.rule.price) > 0))
        return errorResponse(400, 'validation_error', 'invalid request at rule.price_above.price: Input should be greater than 0', [
          { loc: 'rule.price_above.price', msg: 'Input should be greater than 0', type: 'greater_than' },
        ]);
      if (String(body.rule.type).startsWith('channel_') && !(Number(body.rule.lower) < Number(body.rule.upper)))
        return errorResponse(400, 'validation_error', "invalid request at rule.channel_enter: Value error, 'lower' must be below 'upper'", [
          { loc: `rule.${String(body.rule.type)}`, msg: "Value error, 'lower' must be below 'upper'", type: 'value_error' },
        ]);
      if (body.active && full()) return quota();
      const a = alertFixture(state.next++, body.rule, { name: body.name, active: body.active });
      state.alerts.push(a);
      return jsonResponse(a, 201);
    }
    const h = /^\/api\/alerts\/([^/]+)\/history$/.exec(req.path);
    if (h && req.method === 'GET') {
      const events = state.history[h[1]!] ?? [];
      return jsonResponse({ data: events, count: events.length });
    }
    const a = state.alerts.find((x) => req.path === `/api/alerts/${x.id}`);
    if (a && req.method === 'PATCH') {
      const { options, ...patch } = req.body as Partial<Alert> & { options?: Partial<Alert> };
      if (patch.active && !a.active && full()) return quota();
      Object.assign(a, patch, options ?? {});
      return jsonResponse(a);
    }
    if (a && req.method === 'DELETE') {
      state.alerts = state.alerts.filter((x) => x !== a);
      return noContent();
    }
    return undefined;
  });
  return { ...api, state };
}

export function preferencesFixture(overrides: Partial<NotificationPreferences> = {}): NotificationPreferences {
  return {
    timezone: 'America/New_York',
    quiet_hours: { start: '22:00', end: '07:00' },
    channels: { in_app: true, websocket: true, email: true, sns: false, webhook: false },
    daily_caps: { email: 20, sns: 10, webhook: 100 },
    sns_target: null,
    webhook_url: null,
    webhook_status: 'none',
    webhook_disabled_reason: null,
    webhook_secret_hint: null,
    ...overrides,
  };
}
