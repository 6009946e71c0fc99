import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { ToastOutlet } from '@/components/ui/toast-store';
import { setSession } from '@/lib/session';
import { fakeApi } from '@/test/fake-api';
import { FakeWebSocket, stubWebSocket } from '@/test/fake-socket';
import { errorResponse, jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';
import type { Notification } from '../api/keys';
import { NotificationBell } from './notification-bell';

function note(id: number, read = false): Notification {
  return {
    id,
    kind: 'alert',
    title: `AAPL rose above 200.00 (${id})`,
    body: 'Price alert “Apple breakout”',
    data: { symbol: 'AAPL' },
    created_at: new Date(Date.now() - id * 60_000).toISOString(),
    read_at: read ? new Date().toISOString() : null,
  };
}

function notificationsApi(initial: Notification[]) {
  const state = { items: [...initial], failMarkAll: false, hold: null as Promise<void> | null };
  const page = () => ({ data: state.items, count: state.items.length, unread: state.items.filter((n) => n.read_at === null).length });
  const api = fakeApi(async (req) => {
    if (req.path === '/api/notifications') {
      if (state.hold) await state.hold;
      return jsonResponse(page());
    }
    if (req.path === '/api/notifications/read' && req.method === 'POST') {
      if (state.failMarkAll) return errorResponse(503, 'unavailable', 'the database is not answering; try again later');
      const marked = state.items.filter((n) => n.read_at === null).length;
      state.items = state.items.map((n) => ({ ...n, read_at: n.read_at ?? new Date().toISOString() }));
      return jsonResponse({ marked });
    }
    const m = /^\/api\/notifications\/(\d+)\/read$/.exec(req.path);
    if (m && req.method === 'POST') {
      const n = state.items.find((x) => x.id === Number(m[1]))!;
      n.read_at = new Date().toISOString();
      return jsonResponse(n);
    }
    return undefined;
  });
  return { ...api, state };
}

function renderBell() {
  return renderWithProviders(
    <>
      <NotificationBell />
      <ToastOutlet />
    </>,
  );
}

describe('notification bell', () => {
  beforeEach(() => stubWebSocket());

  it('is not there for anonymous visitors, and nothing is fetched', () => {
    const api = notificationsApi([note(1)]);
    renderBell();
    expect(screen.queryByTestId('notification-bell')).not.toBeInTheDocument();
    expect(api.sent).toHaveLength(0);
    expect(FakeWebSocket.instances).toHaveLength(0);
  });

  it('shows the unread count, lists the latest and marks one read', async () => {
    const api = notificationsApi([note(1), note(2), note(3, true)]);
    setSession(tokenFixture());
    renderBell();
    const bell = await screen.findByRole('button', { name: 'Notifications, 2 unread' });
    expect(within(bell).getByTestId('unread-count')).toHaveTextContent('2');
    await userEvent.click(bell);
    const panel = await screen.findByTestId('notifications-panel');
    const items = within(panel).getAllByTestId('notification');
    expect(items).toHaveLength(3);
    expect(items.map((i) => i.hasAttribute('data-unread'))).toEqual([true, true, false]);
    await userEvent.click(within(panel).getByRole('button', { name: 'Unread: AAPL rose above 200.00 (1). Mark read' }));
    await waitFor(() => expect(screen.getByTestId('notification-bell')).toHaveAccessibleName('Notifications, 1 unread'));
    expect(api.writes().at(-1)).toMatchObject({ method: 'POST', path: '/api/notifications/1/read' });
  });

  it('marks all read, and shows the error body when that fails', async () => {
    const api = notificationsApi([note(1), note(2)]);
    setSession(tokenFixture());
    renderBell();
    await userEvent.click(await screen.findByRole('button', { name: 'Notifications, 2 unread' }));
    api.state.failMarkAll = true;
    await userEvent.click(await screen.findByTestId('mark-all-read'));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not mark as read');
    expect(alert).toHaveTextContent('the database is not answering; try again later');
    expect(alert).toHaveTextContent('request id req-503');
    api.state.failMarkAll = false;
    await userEvent.click(screen.getByTestId('mark-all-read'));
    await waitFor(() => expect(screen.getByTestId('notification-bell')).toHaveAccessibleName('Notifications'));
    expect(screen.queryByTestId('unread-count')).not.toBeInTheDocument();
  });

  it('shows an alert pushed over the WebSocket as a toast and bumps the count', async () => {
    const api = notificationsApi([note(1)]);
    setSession(tokenFixture());
    renderBell();
    await screen.findByRole('button', { name: 'Notifications, 1 unread' });
    // signed in, the socket opens for pushes even with no symbol watched
    const socket = FakeWebSocket.latest()!;
    act(() => socket.open());
    let release = () => {};
    api.state.hold = new Promise((resolve) => (release = resolve));
    act(() =>
      socket.receive({ type: 'alert', alert_id: 'a1', symbol: 'AAPL', message: 'AAPL rose above 200.00', price: 201.5, triggered_at: '2018-02-07T15:00:00Z' }),
    );
    // the count goes up at once, before the list is refetched
    await waitFor(() => expect(screen.getByTestId('notification-bell')).toHaveAccessibleName('Notifications, 2 unread'));
    const toast = await screen.findByTestId('toast');
    expect(toast).toHaveTextContent('Alert: AAPL');
    expect(toast).toHaveTextContent('AAPL rose above 200.00 (201.50)');
    // then the list is refetched for the stored notification
    expect(api.sent.filter((s) => s.path === '/api/notifications')).toHaveLength(2);
    api.state.items.unshift(note(0));
    api.state.hold = null;
    release();
    await userEvent.click(screen.getByTestId('notification-bell'));
    await waitFor(() => expect(within(screen.getByTestId('notifications-panel')).getAllByTestId('notification')).toHaveLength(2));
  });

  it("links an alert's notification to why it fired (the alert's history)", async () => {
    notificationsApi([{ ...note(1), data: { symbol: 'AAPL', alert_id: 'a-1', event_id: 7 } }, note(2)]);
    setSession(tokenFixture());
    renderBell();
    await userEvent.click(await screen.findByRole('button', { name: 'Notifications, 2 unread' }));
    const items = within(await screen.findByTestId('notifications-panel')).getAllByTestId('notification');
    expect(within(items[0]!).getByRole('link', { name: 'Why: AAPL rose above 200.00 (1)' })).toHaveAttribute('href', '/alerts?history=a-1');
    expect(within(items[1]!).queryByRole('link')).not.toBeInTheDocument();
  });
});
