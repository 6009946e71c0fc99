import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AlertsRoute } from '@/app/routes/alerts';
import { setSession } from '@/lib/session';
import { fakeApi, noContent } from '@/test/fake-api';
import { errorResponse, jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';
import type { Alert } from '../api/keys';

const SCREEN = '00000000-0000-4000-8000-000000000009';

function alert(n: number, rule: Record<string, unknown>, overrides: Partial<Alert> = {}): Alert {
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

/** An alerts API with the free plan's 5 active alerts. */
function alertsApi(initial: Alert[] = [], { limit = 5 } = {}) {
  const state = { alerts: [...initial], next: 5 };
  const quota = () =>
    errorResponse(403, 'forbidden', `quota reached: active alerts is limited to ${limit} on the free plan`, {
      quota: 'active_alerts',
      limit,
      used: state.alerts.filter((a) => a.active).length,
      role: 'free',
    });
  const full = () => state.alerts.filter((a) => a.active).length >= limit;
  const api = fakeApi((req) => {
    if (req.path === '/api/screens/saved') return jsonResponse({ data: [{ id: SCREEN, name: 'Value' }], count: 1 });
    if (req.path === '/api/securities') return jsonResponse({ data: [{ symbol: 'AAPL', name: 'Apple Inc.', sector: null, industry: null }], count: 1 });
    if (req.path === '/api/alerts' && req.method === 'GET') return jsonResponse({ data: state.alerts, count: state.alerts.length });
    if (req.path === '/api/alerts' && req.method === 'POST') {
      const body = req.body as { name: string | null; rule: Record<string, unknown>; active: boolean };
      if (body.rule.type === 'price_above' && !(Number(body.rule.price) > 0))
        return errorResponse(400, 'validation_error', 'invalid request at rule.price_above.price: Input should be greater than 0', [
          { loc: 'rule.price_above.price', msg: 'Input should be greater than 0', type: 'greater_than' },
        ]);
      if (body.active && full()) return quota();
      const a = alert(state.next++, body.rule, { name: body.name, active: body.active });
      state.alerts.push(a);
      return jsonResponse(a, 201);
    }
    const a = state.alerts.find((x) => req.path === `/api/alerts/${x.id}`);
    if (a && req.method === 'PATCH') {
      const patch = req.body as Partial<Alert>;
      if (patch.active && !a.active && full()) return quota();
      Object.assign(a, patch);
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

function renderPage(route = '/alerts') {
  return renderWithProviders(<AlertsRoute />, { path: '/alerts', route });
}

async function newAlertDialog() {
  await userEvent.click(await screen.findByTestId('new-alert'));
  return within(await screen.findByRole('dialog', { name: 'New alert' }));
}

describe('alerts page', () => {
  it('asks anonymous visitors to sign in without calling the API', async () => {
    const api = alertsApi();
    renderPage();
    expect(await screen.findByTestId('sign-in-prompt')).toHaveTextContent('Sign in to set alerts');
    expect(api.sent).toHaveLength(0);
  });

  it('lists alerts with what they watch, and pauses one', async () => {
    const api = alertsApi([
      alert(1, { type: 'price_above', symbol: 'AAPL', price: 200 }, { name: 'Apple breakout' }),
      alert(2, { type: 'screen_enter', screen_id: SCREEN }, { active: false }),
    ]);
    setSession(tokenFixture());
    renderPage();
    const rows = await screen.findAllByTestId('alert-row');
    expect(rows[0]).toHaveTextContent('Apple breakout');
    expect(rows[0]).toHaveTextContent('AAPL price above 200.00');
    await waitFor(() => expect(rows[1]).toHaveTextContent('A stock enters “Value”'));
    expect(rows[1]).toHaveTextContent('Paused');
    expect(screen.getByTestId('active-count')).toHaveTextContent('1 active');
    const toggle = within(rows[0]!).getByRole('switch', { name: 'Active: Apple breakout' });
    expect(toggle).toHaveAttribute('aria-checked', 'true');
    await userEvent.click(toggle);
    await waitFor(() => expect(within(screen.getAllByTestId('alert-row')[0]!).getByRole('switch')).toHaveAttribute('aria-checked', 'false'));
    expect(api.writes().at(-1)).toMatchObject({ method: 'PATCH', body: { active: false } });
  });

  it("shows the plan's limit when resuming one alert too many", async () => {
    alertsApi(
      [
        ...Array.from({ length: 5 }, (_, i) => alert(i, { type: 'high_52w', symbol: 'AAPL' })),
        alert(9, { type: 'low_52w', symbol: 'AAPL' }, { active: false }),
      ],
      { limit: 5 },
    );
    setSession(tokenFixture());
    renderPage();
    const rows = await screen.findAllByTestId('alert-row');
    await userEvent.click(within(rows[5]!).getByRole('switch'));
    const box = await screen.findByRole('alert');
    expect(box).toHaveTextContent("You have reached your plan's active-alert limit");
    expect(box).toHaveTextContent('quota reached: active alerts is limited to 5 on the free plan');
    expect(screen.getByTestId('active-count')).toHaveTextContent('5 of 5 active');
    expect(within(rows[5]!).getByRole('switch')).toHaveAttribute('aria-checked', 'false');
  });

  it('creates an RSI alert with its own fields', async () => {
    const api = alertsApi();
    setSession(tokenFixture());
    renderPage();
    const dialog = await newAlertDialog();
    await userEvent.selectOptions(dialog.getByLabelText('Condition'), 'rsi');
    expect(dialog.queryByLabelText('Price')).not.toBeInTheDocument();
    await userEvent.type(dialog.getByLabelText('Symbol'), 'aapl{Escape}');
    await userEvent.type(dialog.getByLabelText('RSI level'), '30');
    await userEvent.selectOptions(dialog.getByLabelText('Direction'), 'below');
    await userEvent.type(dialog.getByLabelText('Name (optional)'), 'Oversold Apple');
    await userEvent.click(dialog.getByTestId('alert-submit'));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(api.writes().at(-1)).toMatchObject({
      method: 'POST',
      path: '/api/alerts',
      body: { name: 'Oversold Apple', active: true, rule: { type: 'rsi', symbol: 'AAPL', threshold: 30, direction: 'below' } },
    });
    expect(await screen.findByText('Oversold Apple')).toBeInTheDocument();
  });

  it('creates a screen alert on one of the saved screens', async () => {
    const api = alertsApi();
    setSession(tokenFixture());
    renderPage();
    const dialog = await newAlertDialog();
    await userEvent.selectOptions(dialog.getByLabelText('Condition'), 'screen_leave');
    expect(dialog.queryByLabelText('Symbol')).not.toBeInTheDocument();
    expect(dialog.getByLabelText('Saved screen')).toHaveValue(SCREEN);
    await userEvent.click(dialog.getByTestId('alert-submit'));
    await waitFor(() => expect(api.writes().at(-1)?.body).toEqual({ name: null, active: true, rule: { type: 'screen_leave', screen_id: SCREEN }, options: null }));
    expect(await screen.findByText('A stock leaves “Value”')).toBeInTheDocument();
  });

  it("shows the API's validation error on the rule's field", async () => {
    alertsApi();
    setSession(tokenFixture());
    renderPage('/alerts?symbol=aapl');
    // ?symbol= (the stock page's "Set alert") opens the form for that symbol
    const dialog = within(await screen.findByRole('dialog', { name: 'New alert' }));
    expect(dialog.getByLabelText('Symbol')).toHaveValue('AAPL');
    await userEvent.type(dialog.getByLabelText('Price'), '0');
    await userEvent.click(dialog.getByTestId('alert-submit'));
    const price = dialog.getByLabelText('Price');
    await waitFor(() => expect(price).toHaveAttribute('aria-invalid', 'true'));
    expect(price).toHaveAccessibleDescription('Input should be greater than 0.');
    expect(dialog.getByTestId('alert-error')).toHaveTextContent('Please correct the highlighted fields.');
  });

  it('edits an alert and deletes one', async () => {
    const api = alertsApi([alert(1, { type: 'crosses_sma', symbol: 'AAPL', period: 50, direction: 'above' })]);
    setSession(tokenFixture());
    renderPage();
    await userEvent.click(await screen.findByRole('button', { name: 'Edit AAPL crosses above its 50-day SMA' }));
    const dialog = within(await screen.findByRole('dialog', { name: 'Edit alert' }));
    expect(dialog.getByLabelText('Moving average')).toHaveValue('50');
    await userEvent.selectOptions(dialog.getByLabelText('Moving average'), '200');
    await userEvent.click(dialog.getByTestId('alert-submit'));
    expect(await screen.findByText('AAPL crosses above its 200-day SMA')).toBeInTheDocument();
    expect(api.writes().at(-1)).toMatchObject({
      method: 'PATCH',
      body: { name: null, active: true, rule: { type: 'crosses_sma', symbol: 'AAPL', period: 200, direction: 'above' } },
    });

    await userEvent.click(screen.getByRole('button', { name: 'Delete AAPL crosses above its 200-day SMA' }));
    await userEvent.click(within(await screen.findByRole('dialog', { name: 'Delete this alert?' })).getByTestId('confirm-delete'));
    expect(await screen.findByTestId('no-alerts')).toBeInTheDocument();
  });
});
