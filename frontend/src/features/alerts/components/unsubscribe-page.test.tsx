import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { UnsubscribeRoute } from '@/app/routes/alerts';
import { setSession } from '@/lib/session';
import { fakeApi } from '@/test/fake-api';
import { errorResponse, jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';

const ALERT = '00000000-0000-4000-8000-000000000011';
const TOKEN = 'v1.k1.c2lnbmVkLXRva2Vu';

/** POST /api/alerts/unsubscribe?token= (public): a good token, a bad one, one for a deleted alert. */
function unsubscribeApi() {
  return fakeApi((req) => {
    if (req.path !== '/api/alerts/unsubscribe' || req.method !== 'POST') return undefined;
    const token = req.query.get('token') ?? '';
    if (token === TOKEN) return jsonResponse({ unsubscribed: true, alert_id: ALERT });
    if (token === 'v1.k1.gone-alert-token') return errorResponse(404, 'not_found', 'this alert no longer exists');
    return errorResponse(400, 'invalid_request', 'invalid unsubscribe link');
  });
}

function renderPage(route: string) {
  return renderWithProviders(<UnsubscribeRoute />, { path: '/unsubscribe', route });
}

describe('unsubscribe landing page', () => {
  it('stops the alert’s emails without signing in, once, and says what was stopped', async () => {
    const api = unsubscribeApi();
    renderPage(`/unsubscribe?token=${encodeURIComponent(TOKEN)}`);
    const done = await screen.findByTestId('unsubscribe-done');
    expect(done).toHaveTextContent('You are unsubscribed');
    expect(done).toHaveTextContent('This alert will send you no more emails. Its other channels (in-app, live, SMS, webhook) are unchanged');
    expect(screen.getByRole('link', { name: 'your alerts' })).toHaveAttribute('href', `/alerts?history=${ALERT}`);
    expect(api.sent).toHaveLength(1);
    expect(api.sent[0]).toMatchObject({ method: 'POST', path: '/api/alerts/unsubscribe', auth: null, body: undefined });
    expect(api.sent[0]!.query.get('token')).toBe(TOKEN);
  });

  it('sends no access token even when signed in (the link is the credential)', async () => {
    const api = unsubscribeApi();
    setSession(tokenFixture());
    renderPage(`/unsubscribe?token=${encodeURIComponent(TOKEN)}`);
    await screen.findByTestId('unsubscribe-done');
    expect(api.sent[0]!.auth).toBeNull();
  });

  it('says clearly when the link is invalid or expired', async () => {
    unsubscribeApi();
    renderPage('/unsubscribe?token=v1.k1.tampered-token');
    const error = await screen.findByTestId('unsubscribe-error');
    expect(error).toHaveRole('alert');
    expect(error).toHaveTextContent('This unsubscribe link is invalid or has expired');
    expect(screen.queryByTestId('unsubscribe-done')).not.toBeInTheDocument();
  });

  it('says when the alert is gone', async () => {
    unsubscribeApi();
    renderPage('/unsubscribe?token=v1.k1.gone-alert-token');
    expect(await screen.findByTestId('unsubscribe-error')).toHaveTextContent('This alert no longer exists');
  });

  it('does not call the API for a link without a token', async () => {
    const api = unsubscribeApi();
    renderPage('/unsubscribe');
    expect(await screen.findByTestId('unsubscribe-error')).toHaveTextContent('This unsubscribe link is incomplete');
    expect(api.sent).toHaveLength(0);
  });
});
