import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { AlertsRoute } from '@/app/routes/alerts';
import { setSession } from '@/lib/session';
import { alertFixture, alertsApi, SCREEN, WATCHLIST } from '@/test/alerts-api';
import { FakeWebSocket, stubWebSocket } from '@/test/fake-socket';
import { renderWithProviders, tokenFixture } from '@/test/utils';
import { defaultExpiry, endOfDay } from '../model/options';

function renderPage(route = '/alerts', role = 'free') {
  setSession(tokenFixture({ role }));
  return renderWithProviders(<AlertsRoute />, { path: '/alerts', route });
}

async function newAlertDialog() {
  await userEvent.click(await screen.findByTestId('new-alert'));
  return within(await screen.findByRole('dialog', { name: 'New alert' }));
}

type Dialog = Awaited<ReturnType<typeof newAlertDialog>>;

async function submit(dialog: Dialog, api: ReturnType<typeof alertsApi>) {
  const before = api.writes().length;
  await userEvent.click(dialog.getByTestId('alert-submit'));
  await waitFor(() => expect(api.writes().length).toBe(before + 1));
  return api.writes().at(-1)!.body as { name: string | null; active: boolean; rule: Record<string, unknown>; options: Record<string, unknown> };
}

describe('alert builder', { timeout: 20_000 }, () => {
  beforeEach(() => stubWebSocket());

  // One case per condition kind and scope: what the user does in the form, and the rule the API receives.
  const cases: { name: string; fill: (d: Dialog) => Promise<void>; rule: Record<string, unknown> }[] = [
    {
      name: 'a price crossing on one stock',
      fill: async (d) => {
        await userEvent.type(d.getByLabelText('Symbol'), 'aapl{Escape}');
        await userEvent.selectOptions(d.getByLabelText('Condition'), 'crossing');
        await userEvent.type(d.getByLabelText('Value'), '161.5');
      },
      rule: { type: 'crossing', symbol: 'AAPL', field: 'close', level: 161.5 },
    },
    {
      name: 'a field crossing up another field, on a watchlist',
      fill: async (d) => {
        await userEvent.selectOptions(d.getByLabelText('Watch'), 'watchlist');
        expect(d.getByLabelText('Watchlist')).toHaveValue(WATCHLIST);
        await userEvent.selectOptions(d.getByLabelText('Condition'), 'crossing_up');
        await userEvent.selectOptions(d.getByLabelText('Against'), 'other');
        await userEvent.selectOptions(d.getByLabelText('Other field'), 'sma200');
      },
      rule: { type: 'crossing_up', watchlist_id: WATCHLIST, field: 'close', other: 'sma200' },
    },
    {
      name: 'RSI crossing down a level',
      fill: async (d) => {
        await userEvent.type(d.getByLabelText('Symbol'), 'msft{Escape}');
        await userEvent.selectOptions(d.getByLabelText('Condition'), 'crossing_down');
        await userEvent.selectOptions(d.getByLabelText('Field'), 'rsi14');
        await userEvent.type(d.getByLabelText('Value'), '30');
      },
      rule: { type: 'crossing_down', symbol: 'MSFT', field: 'rsi14', level: 30 },
    },
    {
      name: 'entering a channel',
      fill: async (d) => {
        await userEvent.type(d.getByLabelText('Symbol'), 'xom{Escape}');
        await userEvent.selectOptions(d.getByLabelText('Condition'), 'channel_enter');
        await userEvent.type(d.getByLabelText('Lower bound'), '80');
        await userEvent.type(d.getByLabelText('Upper bound'), '90');
      },
      rule: { type: 'channel_enter', symbol: 'XOM', field: 'close', lower: 80, upper: 90 },
    },
    {
      name: 'exiting a channel on a watchlist',
      fill: async (d) => {
        await userEvent.selectOptions(d.getByLabelText('Watch'), 'watchlist');
        await userEvent.selectOptions(d.getByLabelText('Condition'), 'channel_exit');
        await userEvent.type(d.getByLabelText('Lower bound'), '10');
        await userEvent.type(d.getByLabelText('Upper bound'), '20');
      },
      rule: { type: 'channel_exit', watchlist_id: WATCHLIST, field: 'close', lower: 10, upper: 20 },
    },
    {
      name: 'moving up X% within N sessions',
      fill: async (d) => {
        await userEvent.type(d.getByLabelText('Symbol'), 'nvda{Escape}');
        await userEvent.selectOptions(d.getByLabelText('Condition'), 'move_up_pct');
        await userEvent.type(d.getByLabelText('Move (%)'), '5');
        await userEvent.clear(d.getByLabelText('Within (sessions)'));
        await userEvent.type(d.getByLabelText('Within (sessions)'), '3');
      },
      rule: { type: 'move_up_pct', symbol: 'NVDA', pct: 5, bars: 3 },
    },
    {
      name: 'moving down on a watchlist',
      fill: async (d) => {
        await userEvent.selectOptions(d.getByLabelText('Watch'), 'watchlist');
        await userEvent.selectOptions(d.getByLabelText('Condition'), 'move_down_pct');
        await userEvent.type(d.getByLabelText('Move (%)'), '7.5');
      },
      rule: { type: 'move_down_pct', watchlist_id: WATCHLIST, pct: 7.5, bars: 5 },
    },
    {
      name: 'a query-language expression',
      fill: async (d) => {
        await userEvent.selectOptions(d.getByLabelText('Watch'), 'watchlist');
        await userEvent.selectOptions(d.getByLabelText('Condition'), 'query');
        await userEvent.type(d.getByLabelText('Condition (query language)'), 'rsi14 < 30 and volume > 2 * avg_volume_20');
      },
      rule: { type: 'query', watchlist_id: WATCHLIST, query: 'rsi14 < 30 and volume > 2 * avg_volume_20' },
    },
    {
      name: 'a stock entering a saved screen',
      fill: async (d) => {
        await userEvent.selectOptions(d.getByLabelText('Watch'), 'screen');
        expect(d.queryByLabelText('Symbol')).not.toBeInTheDocument();
        expect(d.getByLabelText('Saved screen')).toHaveValue(SCREEN);
        expect(within(d.getByLabelText('Condition')).getAllByRole('option').map((o) => o.getAttribute('value'))).toEqual(['screen_enter', 'screen_leave']);
      },
      rule: { type: 'screen_enter', screen_id: SCREEN },
    },
    {
      name: 'a daily-change alert (one of the first ten types)',
      fill: async (d) => {
        await userEvent.type(d.getByLabelText('Symbol'), 'jpm{Escape}');
        await userEvent.selectOptions(d.getByLabelText('Condition'), 'change_pct');
        await userEvent.type(d.getByLabelText('Change (%)'), '4');
        await userEvent.selectOptions(d.getByLabelText('Direction'), 'down');
      },
      rule: { type: 'change_pct', symbol: 'JPM', threshold_pct: 4, direction: 'down' },
    },
  ];

  it.each(cases)('sends $name', async ({ fill, rule }) => {
    const api = alertsApi();
    renderPage();
    const dialog = await newAlertDialog();
    await fill(dialog);
    const body = await submit(dialog, api);
    expect(body.rule).toEqual(rule);
    // the server's defaults, written out: once a day, 0.2% hysteresis, two months
    expect(body.options).toEqual({ trigger: 'once_per_day', hysteresis_pct: 0.2, expires_at: endOfDay(defaultExpiry()), snoozed_until: null, cooldown_minutes: 0 });
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
  });

  it('sends the trigger options, hysteresis, expiry, snooze, cooldown and a paused start', async () => {
    const api = alertsApi();
    renderPage();
    const dialog = await newAlertDialog();
    await userEvent.type(dialog.getByLabelText('Symbol'), 'aapl{Escape}');
    await userEvent.type(dialog.getByLabelText('Price'), '200');
    await userEvent.selectOptions(dialog.getByLabelText('Trigger'), 'once');
    expect(dialog.getByLabelText('Trigger')).toHaveAccessibleDescription('Fires at the first crossing, then the alert is done.');
    await userEvent.clear(dialog.getByLabelText('Hysteresis (%)'));
    await userEvent.type(dialog.getByLabelText('Hysteresis (%)'), '0.5');
    expect(dialog.getByLabelText('Expires on')).toHaveValue(defaultExpiry());
    // a free plan's alert always expires
    expect(dialog.queryByLabelText('Never expires')).not.toBeInTheDocument();
    await userEvent.clear(dialog.getByLabelText('Expires on'));
    await userEvent.type(dialog.getByLabelText('Expires on'), '2031-03-01');
    await userEvent.type(dialog.getByLabelText('Snooze through'), '2030-12-24');
    await userEvent.type(dialog.getByLabelText('Cooldown (minutes)'), '30');
    await userEvent.click(dialog.getByLabelText('Active (untick to pause)'));
    const body = await submit(dialog, api);
    expect(body).toEqual({
      name: null,
      active: false,
      rule: { type: 'price_above', symbol: 'AAPL', price: 200 },
      options: { trigger: 'once', hysteresis_pct: 0.5, expires_at: endOfDay('2031-03-01'), snoozed_until: endOfDay('2030-12-24'), cooldown_minutes: 30 },
    });
  });

  it('makes a premium alert open-ended unless given a date', async () => {
    const api = alertsApi();
    renderPage('/alerts', 'premium');
    let dialog = await newAlertDialog();
    await userEvent.type(dialog.getByLabelText('Symbol'), 'aapl{Escape}');
    await userEvent.type(dialog.getByLabelText('Price'), '200');
    expect(dialog.getByLabelText('Never expires')).toBeChecked();
    expect(dialog.getByLabelText('Expires on')).toBeDisabled();
    expect((await submit(dialog, api)).options).toMatchObject({ expires_at: null });
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());

    dialog = await newAlertDialog();
    await userEvent.type(dialog.getByLabelText('Symbol'), 'aapl{Escape}');
    await userEvent.type(dialog.getByLabelText('Price'), '210');
    await userEvent.click(dialog.getByLabelText('Never expires'));
    expect(dialog.getByLabelText('Expires on')).toHaveValue(defaultExpiry());
    expect((await submit(dialog, api)).options).toMatchObject({ expires_at: endOfDay(defaultExpiry()) });
  });

  it('shows the live price of the chosen symbol, to set a level near it', async () => {
    alertsApi();
    renderPage();
    const dialog = await newAlertDialog();
    await userEvent.type(dialog.getByLabelText('Symbol'), 'aapl{Escape}');
    const socket = FakeWebSocket.latest()!;
    act(() => socket.open());
    await waitFor(() => expect(socket.sent).toContainEqual({ action: 'subscribe', symbols: ['AAPL'] }));
    act(() => socket.receive({ type: 'quote', symbol: 'AAPL', price: 160.31, change_pct: 0.4, volume: 100, ts: '2018-02-07T15:00:00Z' }));
    expect(await dialog.findByTestId('alert-last-price')).toHaveTextContent('160.31');
  });

  it('validates a query as it is typed, with the position of the error', async () => {
    const api = alertsApi();
    renderPage();
    const dialog = await newAlertDialog();
    await userEvent.selectOptions(dialog.getByLabelText('Condition'), 'query');
    const editor = dialog.getByLabelText('Condition (query language)');
    await userEvent.type(editor, 'rsi14 << 30');
    await waitFor(() => expect(editor).toHaveAttribute('aria-invalid', 'true'));
    expect(editor).toHaveAccessibleDescription(/Syntax error at line 1, column 8: unexpected '<'/);
    // the caret points at column 8 of the line
    expect(dialog.getByTestId('query-caret').textContent).toBe('rsi14 << 30\n       ^');
    await userEvent.clear(editor);
    await userEvent.type(editor, 'rsi14 <  30');
    await waitFor(() => expect(dialog.getByTestId('query-status')).toHaveTextContent('Valid: rsi14 < 30'));
    expect(editor).not.toHaveAttribute('aria-invalid');
    // debounced: the parser is not asked on every key
    const parses = api.sent.filter((s) => s.path === '/api/screens/parse');
    expect(parses.length).toBeLessThan(6);
    expect(parses.at(-1)?.body).toEqual({ query: 'rsi14 <  30' });
  });

  it("maps a model-level refusal onto the field it names", async () => {
    const api = alertsApi();
    renderPage();
    const dialog = await newAlertDialog();
    await userEvent.type(dialog.getByLabelText('Symbol'), 'xom{Escape}');
    await userEvent.selectOptions(dialog.getByLabelText('Condition'), 'channel_enter');
    await userEvent.type(dialog.getByLabelText('Lower bound'), '90');
    await userEvent.type(dialog.getByLabelText('Upper bound'), '80');
    await submit(dialog, api);
    const lower = dialog.getByLabelText('Lower bound');
    await waitFor(() => expect(lower).toHaveAttribute('aria-invalid', 'true'));
    expect(lower).toHaveAccessibleDescription("Value error, 'lower' must be below 'upper'.");
    expect(dialog.getByTestId('alert-error')).toHaveTextContent('Please correct the highlighted fields.');
  });

  it('edits the options without re-sending an unchanged rule (which would re-arm it)', async () => {
    const api = alertsApi([alertFixture(1, { type: 'crossing', symbol: 'AAPL', field: 'close', level: 150 }, { expires_at: '2030-01-01T04:59:59Z' })]);
    renderPage();
    await userEvent.click(await screen.findByRole('button', { name: `Edit AAPL close crosses 150.00` }));
    const dialog = within(await screen.findByRole('dialog', { name: 'Edit alert' }));
    expect(dialog.getByLabelText('Value')).toHaveValue('150');
    await userEvent.selectOptions(dialog.getByLabelText('Trigger'), 'every_time');
    await userEvent.click(dialog.getByTestId('alert-submit'));
    await waitFor(() => expect(api.writes().at(-1)?.method).toBe('PATCH'));
    const body = api.writes().at(-1)!.body as Record<string, unknown>;
    expect(body).not.toHaveProperty('rule');
    expect(body.options).toMatchObject({ trigger: 'every_time', hysteresis_pct: 0.2, snoozed_until: null });
  });
});
