import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { AlertPreferencesRoute } from '@/app/routes/alerts';
import { setSession } from '@/lib/session';
import { preferencesFixture } from '@/test/alerts-api';
import { fakeApi } from '@/test/fake-api';
import { errorResponse, jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';
import type { NotificationPreferences, NotificationPreferencesUpdate } from '../preferences-types';

/** GET/PUT /api/me/notification-preferences and the webhook secret, as the alerts-backend branch defines them. */
function preferencesApi(initial: NotificationPreferences, { role = 'premium' } = {}) {
  const state = { prefs: initial, secrets: 0 };
  const api = fakeApi((req) => {
    if (req.path === '/api/me/notification-preferences' && req.method === 'GET') return jsonResponse(state.prefs);
    if (req.path === '/api/me/notification-preferences' && req.method === 'PUT') {
      const body = req.body as NotificationPreferencesUpdate;
      if (role === 'free' && (body.channels.webhook || body.webhook_url))
        return errorResponse(403, 'forbidden', 'webhooks are a premium feature', { feature: 'webhook', role: 'free' });
      const bad = Object.entries(body.daily_caps).find(([, v]) => typeof v !== 'number' || v < 0 || v > 1000);
      if (bad)
        return errorResponse(400, 'validation_error', `invalid request at daily_caps.${bad[0]}`, [
          { loc: `daily_caps.${bad[0]}`, msg: 'Input should be less than or equal to 1000', type: 'less_than_equal' },
        ]);
      if (!body.timezone.includes('/') && body.timezone !== 'UTC')
        return errorResponse(400, 'validation_error', 'invalid request at timezone', [{ loc: 'timezone', msg: `unknown time zone '${body.timezone}'`, type: 'value_error' }]);
      state.prefs = {
        ...state.prefs,
        ...body,
        webhook_status: body.webhook_url ? 'active' : 'none',
        webhook_secret_hint: body.webhook_url ? (state.prefs.webhook_secret_hint ?? 'f00d') : null,
      };
      return jsonResponse(state.prefs);
    }
    if (req.path === '/api/me/notification-preferences/webhook-secret' && req.method === 'POST') {
      state.secrets += 1;
      state.prefs = { ...state.prefs, webhook_secret_hint: `a1b${state.secrets}` };
      return jsonResponse({ secret: `whsec_0123456789abcdef_a1b${state.secrets}` });
    }
    return undefined;
  });
  return { ...api, state };
}

function renderPage(role = 'premium') {
  setSession(tokenFixture({ role }));
  return renderWithProviders(<AlertPreferencesRoute />, { path: '/alerts/preferences', route: '/alerts/preferences' });
}

describe('notification preferences', { timeout: 20_000 }, () => {
  it('asks anonymous visitors to sign in, without calling the API', async () => {
    const api = preferencesApi(preferencesFixture());
    renderWithProviders(<AlertPreferencesRoute />, { path: '/alerts/preferences', route: '/alerts/preferences' });
    expect(await screen.findByTestId('sign-in-prompt')).toBeInTheDocument();
    expect(api.sent).toHaveLength(0);
  });

  it('shows the saved preferences and saves every writable field', async () => {
    const api = preferencesApi(preferencesFixture());
    renderPage();
    const form = within(await screen.findByRole('form', { name: 'Notification preferences' }));
    expect(form.getByLabelText('Time zone')).toHaveValue('America/New_York');
    expect(form.getByLabelText('From')).toHaveValue('22:00');
    expect(form.getByLabelText('Until')).toHaveValue('07:00');
    expect(form.getByRole('checkbox', { name: /^Email/ })).toBeChecked();
    expect(form.getByRole('checkbox', { name: /^SMS/ })).not.toBeChecked();
    expect(form.getByLabelText('Email per day')).toHaveValue('20');

    await userEvent.clear(form.getByLabelText('Time zone'));
    await userEvent.type(form.getByLabelText('Time zone'), 'Europe/Paris');
    await userEvent.clear(form.getByLabelText('From'));
    await userEvent.type(form.getByLabelText('From'), '21:30');
    await userEvent.click(form.getByRole('checkbox', { name: /^SMS/ }));
    await userEvent.type(form.getByLabelText('SMS number'), '+15551234567');
    await userEvent.click(form.getByRole('checkbox', { name: /^Webhook/ }));
    await userEvent.type(form.getByLabelText('Webhook URL'), 'https://example.com/hook');
    await userEvent.clear(form.getByLabelText('Email per day'));
    await userEvent.type(form.getByLabelText('Email per day'), '5');
    await userEvent.click(form.getByTestId('preferences-submit'));
    expect(await form.findByTestId('preferences-saved')).toHaveTextContent('Saved.');
    expect(api.writes().at(-1)).toMatchObject({ method: 'PUT', path: '/api/me/notification-preferences' });
    expect(api.writes().at(-1)!.body).toEqual({
      timezone: 'Europe/Paris',
      quiet_hours: { start: '21:30', end: '07:00' },
      channels: { in_app: true, websocket: true, email: true, sns: true, webhook: true },
      daily_caps: { email: 5, sns: 10, webhook: 100 },
      sns_target: '+15551234567',
      webhook_url: 'https://example.com/hook',
    });
    // the server's read-only webhook state shows once saved
    expect(await form.findByTestId('webhook-status')).toHaveTextContent('Active. Signing secret ends in …f00d.');
  });

  it('turns quiet hours off (sent as null)', async () => {
    const api = preferencesApi(preferencesFixture());
    renderPage();
    const form = within(await screen.findByRole('form', { name: 'Notification preferences' }));
    await userEvent.click(form.getByLabelText(/Hold email, SMS and webhook messages during quiet hours/));
    expect(form.getByLabelText('From')).toBeDisabled();
    await userEvent.click(form.getByTestId('preferences-submit'));
    await form.findByTestId('preferences-saved');
    expect(api.writes().at(-1)!.body).toMatchObject({ quiet_hours: null });
  });

  it("puts the API's validation errors on their fields", async () => {
    preferencesApi(preferencesFixture());
    renderPage();
    const form = within(await screen.findByRole('form', { name: 'Notification preferences' }));
    await userEvent.clear(form.getByLabelText('SMS / SNS per day'));
    await userEvent.type(form.getByLabelText('SMS / SNS per day'), '5000');
    await userEvent.click(form.getByTestId('preferences-submit'));
    const cap = form.getByLabelText('SMS / SNS per day');
    await waitFor(() => expect(cap).toHaveAttribute('aria-invalid', 'true'));
    expect(cap).toHaveAccessibleDescription('Input should be less than or equal to 1000.');
    expect(form.getByTestId('preferences-error')).toHaveTextContent('Please correct the highlighted fields.');
    await userEvent.clear(cap);
    await userEvent.type(cap, '10');
    await userEvent.clear(form.getByLabelText('Time zone'));
    await userEvent.type(form.getByLabelText('Time zone'), 'Mars');
    await userEvent.click(form.getByTestId('preferences-submit'));
    await waitFor(() => expect(form.getByLabelText('Time zone')).toHaveAccessibleDescription(/Unknown time zone 'Mars'\./));
  });

  it('shows the webhook as a premium feature on the free plan', async () => {
    preferencesApi(preferencesFixture(), { role: 'free' });
    renderPage('free');
    const form = within(await screen.findByRole('form', { name: 'Notification preferences' }));
    expect(form.getByRole('checkbox', { name: /^Webhook/ })).toBeDisabled();
    expect(form.getByLabelText('Webhook URL')).toBeDisabled();
    expect(form.getByTestId('webhook-upgrade')).toHaveTextContent('Webhooks are a premium feature');
    expect(form.queryByTestId('rotate-secret')).not.toBeInTheDocument();
  });

  it('tells a free account that a webhook needs premium when the server refuses it (403)', async () => {
    // e.g. a premium plan that lapsed while the page was open
    preferencesApi(preferencesFixture(), { role: 'free' });
    renderPage('premium');
    const form = within(await screen.findByRole('form', { name: 'Notification preferences' }));
    await userEvent.type(form.getByLabelText('Webhook URL'), 'https://example.com/hook');
    await userEvent.click(form.getByTestId('preferences-submit'));
    expect(await form.findByTestId('webhook-upgrade')).toHaveTextContent('upgrade');
    expect(form.queryByTestId('preferences-error')).not.toBeInTheDocument();
  });

  it('shows a disabled webhook with its reason, and a new secret only once', async () => {
    const api = preferencesApi(
      preferencesFixture({
        channels: { in_app: true, websocket: true, email: true, sns: false, webhook: true },
        webhook_url: 'https://example.com/hook',
        webhook_status: 'disabled',
        webhook_disabled_reason: '5 failures in a row (HTTP 500)',
        webhook_secret_hint: 'beef',
      }),
    );
    renderPage();
    const form = within(await screen.findByRole('form', { name: 'Notification preferences' }));
    expect(form.getByTestId('webhook-status')).toHaveTextContent('Disabled after repeated failures: 5 failures in a row (HTTP 500).');
    expect(form.getByTestId('webhook-status')).toHaveTextContent('ends in …beef');
    await userEvent.click(form.getByTestId('rotate-secret'));
    expect(await form.findByTestId('webhook-secret')).toHaveTextContent('whsec_0123456789abcdef_a1b1');
    expect(api.writes().at(-1)).toMatchObject({ method: 'POST', path: '/api/me/notification-preferences/webhook-secret' });
    // the hint follows the new secret; the secret itself is never fetched again
    await waitFor(() => expect(form.getByTestId('webhook-status')).toHaveTextContent('ends in …a1b1'));
    expect(api.sent.filter((s) => s.method === 'GET').every((s) => !s.path.endsWith('webhook-secret'))).toBe(true);
  });
});
