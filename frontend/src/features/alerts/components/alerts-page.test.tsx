import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { AlertsRoute } from '@/app/routes/alerts';
import { setSession } from '@/lib/session';
import { alertFixture, alertsApi, SCREEN } from '@/test/alerts-api';
import { stubWebSocket } from '@/test/fake-socket';
import { renderWithProviders, tokenFixture } from '@/test/utils';

const alert = alertFixture;

function renderPage(route = '/alerts') {
  return renderWithProviders(<AlertsRoute />, { path: '/alerts', route });
}

async function newAlertDialog() {
  await userEvent.click(await screen.findByTestId('new-alert'));
  return within(await screen.findByRole('dialog', { name: 'New alert' }));
}

describe('alerts page', { timeout: 20_000 }, () => {
  beforeEach(() => stubWebSocket());

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
    await userEvent.selectOptions(dialog.getByLabelText('Watch'), 'screen');
    await userEvent.selectOptions(dialog.getByLabelText('Condition'), 'screen_leave');
    expect(dialog.queryByLabelText('Symbol')).not.toBeInTheDocument();
    expect(dialog.getByLabelText('Saved screen')).toHaveValue(SCREEN);
    await userEvent.click(dialog.getByTestId('alert-submit'));
    await waitFor(() => expect(api.writes().at(-1)?.body).toMatchObject({ name: null, active: true, rule: { type: 'screen_leave', screen_id: SCREEN } }));
    expect((api.writes().at(-1)?.body as { rule: object }).rule).toEqual({ type: 'screen_leave', screen_id: SCREEN });
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
