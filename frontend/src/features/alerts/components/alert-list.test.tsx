import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { AlertsRoute } from '@/app/routes/alerts';
import { ToastOutlet } from '@/components/ui/toast-store';
import { NotificationBell } from '@/features/notifications/components/notification-bell';
import { setSession } from '@/lib/session';
import { alertFixture, alertsApi, eventFixture, SCREEN } from '@/test/alerts-api';
import { FakeWebSocket, stubWebSocket } from '@/test/fake-socket';
import { jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';
import { endOfDay, localDay } from '../model/options';
import { snoozeUntil } from './alerts-page';

const DAY = 86_400_000;
const iso = (offset: number) => new Date(Date.now() + offset).toISOString();

function renderPage(route = '/alerts') {
  setSession(tokenFixture());
  return renderWithProviders(<AlertsRoute />, { path: '/alerts', route });
}

describe('alert list and history', { timeout: 20_000 }, () => {
  beforeEach(() => stubWebSocket());

  it('shows each alert’s status and how often it fired', async () => {
    alertsApi([
      alertFixture(1, { type: 'price_above', symbol: 'AAPL', price: 200 }, { fired_count: 3, last_fired_at: '2018-02-07T15:00:00Z', expires_at: iso(30 * DAY) }),
      alertFixture(2, { type: 'price_below', symbol: 'AAPL', price: 100 }, { active: false }),
      alertFixture(3, { type: 'high_52w', symbol: 'NVDA' }, { snoozed_until: iso(2 * DAY), fired_count: 1 }),
      alertFixture(4, { type: 'low_52w', symbol: 'NVDA' }, { expires_at: iso(-DAY) }),
      alertFixture(5, { type: 'crossing', symbol: 'MSFT', field: 'close', level: 90 }, { completed_at: iso(-DAY), fired_count: 1, trigger: 'once' }),
    ]);
    renderPage();
    const rows = await screen.findAllByTestId('alert-row');
    expect(rows.map((r) => within(r).getByTestId('alert-status').getAttribute('data-status'))).toEqual(['active', 'paused', 'snoozed', 'expired', 'completed']);
    expect(rows.map((r) => within(r).getByTestId('alert-status').textContent)).toEqual(['Active', 'Paused', 'Snoozed', 'Expired', 'Done (fired once)']);
    expect(within(rows[0]!).getByTestId('alert-facts')).toHaveTextContent(/Fired 3 times · last Feb 7, 2018 · expires/);
    expect(within(rows[1]!).getByTestId('alert-facts')).toHaveTextContent('Never fired');
    expect(within(rows[2]!).getByTestId('alert-facts')).toHaveTextContent(/Fired 1 time · until/);
    expect(within(rows[3]!).getByTestId('alert-facts')).not.toHaveTextContent('expires');
  });

  it('snoozes an alert and ends the snooze', async () => {
    const api = alertsApi([alertFixture(1, { type: 'price_above', symbol: 'AAPL', price: 200 })]);
    renderPage();
    const row = (await screen.findAllByTestId('alert-row'))[0]!;
    await userEvent.selectOptions(within(row).getByRole('combobox', { name: 'Snooze AAPL price above 200.00' }), '7');
    await waitFor(() => expect(within(screen.getAllByTestId('alert-row')[0]!).getByTestId('alert-status')).toHaveTextContent('Snoozed'));
    const week = new Date();
    week.setDate(week.getDate() + 7);
    expect(snoozeUntil(7)).toBe(endOfDay(localDay(week)));
    expect(api.writes().at(-1)).toMatchObject({ method: 'PATCH', body: { options: { snoozed_until: snoozeUntil(7) } } });
    await userEvent.click(screen.getByRole('button', { name: 'Unsnooze AAPL price above 200.00' }));
    await waitFor(() => expect(within(screen.getAllByTestId('alert-row')[0]!).getByTestId('alert-status')).toHaveTextContent('Active'));
    expect(api.writes().at(-1)).toMatchObject({ method: 'PATCH', body: { options: { snoozed_until: null } } });
  });

  it('opens an alert’s history: each firing explained and each channel’s delivery', async () => {
    const a = alertFixture(1, { type: 'crossing_up', symbol: 'AAPL', field: 'close', level: 160 }, { fired_count: 2, name: 'Apple 160' });
    const s = alertFixture(2, { type: 'screen_enter', screen_id: SCREEN }, { fired_count: 1 });
    alertsApi([a, s], {
      history: {
        [a.id]: [
          eventFixture(12, a.id),
          eventFixture(11, a.id, {
            source: 'daily',
            fired_at: '2018-02-06T21:00:00Z',
            details: { type: 'crossing_up', rule: { symbol: 'AAPL', field: 'close', level: 160 }, as_of: '2018-02-06', snapshot_version: 3 },
            delivery: { queued_at: '2018-02-06T21:00:00Z' },
          }),
        ],
        [s.id]: [
          eventFixture(13, s.id, {
            symbol: null,
            value: null,
            level: null,
            message: '2 stocks entered Value: AAPL, XOM',
            details: { type: 'screen_enter', rule: { screen_id: SCREEN }, screen: 'Value', entrants: ['AAPL', 'XOM'], leavers: ['MSFT'] },
          }),
        ],
      },
    });
    const { router } = renderPage();
    await userEvent.click(await screen.findByRole('button', { name: 'History of Apple 160' }));
    const dialog = within(await screen.findByRole('dialog', { name: 'History: Apple 160' }));
    expect(router.state.location.search).toBe(`?history=${a.id}`);
    const events = await dialog.findAllByTestId('alert-event');
    expect(events).toHaveLength(2);
    const first = within(events[0]!);
    expect(first.getByTestId('event-message')).toHaveTextContent('AAPL price 160.25 rose above 160');
    expect(first.getByText('Live quote')).toBeInTheDocument();
    const clause = first.getAllByTestId('event-clause')[0]!;
    expect([...clause.querySelectorAll('td')].map((td) => td.textContent)).toEqual(['price crossed above', '160.25', '160.00', '✓']);
    const delivery = first.getByTestId('event-delivery');
    expect([...delivery.querySelectorAll('li')].map((li) => [li.textContent, li.getAttribute('data-tone')])).toEqual([
      ['In-app: sent', 'ok'],
      ['Live (browser): sent to 1', 'ok'],
      ['Email: failed: ClientError', 'failed'],
      ['SMS / SNS: off', 'off'],
    ]);
    // a firing still on the queue, from the daily close
    expect(within(events[1]!).getByText('Daily close of 2018-02-06')).toBeInTheDocument();
    expect(within(events[1]!).getByTestId('event-delivery')).toHaveTextContent('Being delivered…');

    await userEvent.keyboard('{Escape}');
    await waitFor(() => expect(router.state.location.search).toBe(''));
    // a screen alert lists the entrants and the leavers
    await userEvent.click(screen.getByRole('button', { name: 'History of A stock enters “Value”' }));
    const screenEvent = within((await screen.findAllByTestId('alert-event'))[0]!);
    const rows = screenEvent.getAllByTestId('event-clause').map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent));
    expect(rows).toEqual([
      ['entered “Value”', 'AAPL, XOM', '', '✓'],
      ['left “Value”', 'MSFT', '', '✗'],
    ]);
  });

  it('opens the history from a link (?history=), and says when it has not fired', async () => {
    const a = alertFixture(1, { type: 'price_above', symbol: 'AAPL', price: 200 });
    alertsApi([a]);
    renderPage(`/alerts?history=${a.id}`);
    const dialog = within(await screen.findByRole('dialog', { name: 'History: AAPL price above 200.00' }));
    expect(await dialog.findByTestId('no-events')).toHaveTextContent('It has not fired yet.');
  });

  it('updates live when an alert fires: the bell count, a toast, and the alert’s fired count', async () => {
    const a = alertFixture(1, { type: 'crossing', symbol: 'AAPL', field: 'close', level: 160 }, { name: 'Apple 160' });
    const notes = { unread: 0 };
    const api = alertsApi([a], {
      extra: [(req) => (req.path === '/api/notifications' ? jsonResponse({ data: [], count: 0, unread: notes.unread }) : undefined)],
    });
    setSession(tokenFixture());
    renderWithProviders(
      <>
        <NotificationBell />
        <AlertsRoute />
        <ToastOutlet />
      </>,
      { path: '/alerts', route: '/alerts' },
    );
    await screen.findByRole('button', { name: 'Notifications' });
    const row = await screen.findByTestId('alert-row');
    expect(within(row).getByTestId('alert-facts')).toHaveTextContent('Never fired');
    const socket = FakeWebSocket.latest()!;
    act(() => socket.open());
    // the server fires the alert: it stores the notification and the firing, then pushes
    api.state.alerts[0]!.fired_count = 1;
    api.state.alerts[0]!.last_fired_at = '2018-02-07T15:00:00Z';
    notes.unread = 1;
    act(() => socket.receive({ type: 'alert', alert_id: a.id, symbol: 'AAPL', message: 'AAPL price 160.2 rose above 160', price: 160.2, triggered_at: '2018-02-07T15:00:00Z' }));
    await waitFor(() => expect(screen.getByTestId('notification-bell')).toHaveAccessibleName('Notifications, 1 unread'));
    expect(await screen.findByTestId('toast')).toHaveTextContent('AAPL price 160.2 rose above 160 (160.20)');
    await waitFor(() => expect(within(screen.getByTestId('alert-row')).getByTestId('alert-facts')).toHaveTextContent('Fired 1 time · last Feb 7, 2018'));
  });
});
