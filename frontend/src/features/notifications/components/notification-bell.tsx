import * as Popover from '@radix-ui/react-popover';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { ErrorAlert } from '@/components/ui/error-alert';
import { BellIcon } from '@/components/ui/icons';
import { Spinner } from '@/components/ui/spinner';
import { useSession } from '@/lib/session';
import { useNotifications } from '../api/list-notifications';
import { useMarkAllNotificationsRead } from '../api/mark-all-read';
import { useMarkNotificationRead } from '../api/mark-read';
import { NotificationItem } from './notification-item';
import { useAlertPushes } from './use-alert-pushes';

const LATEST = { limit: 10, offset: 0, unread: false };
/** The unread count is polled too, for notifications written while no socket was open. */
const POLL_MS = 60_000;

function Bell() {
  const [open, setOpen] = useState(false);
  const list = useNotifications(LATEST, { poll: POLL_MS });
  const markRead = useMarkNotificationRead();
  const markAll = useMarkAllNotificationsRead();
  useAlertPushes(true);
  const unread = list.data?.unread ?? 0;
  const items = list.data?.data ?? [];

  return (
    <Popover.Root open={open} onOpenChange={setOpen}>
      <Popover.Trigger
        className="btn-ghost relative h-8 w-8 flex-none p-0"
        aria-label={unread > 0 ? `Notifications, ${unread} unread` : 'Notifications'}
        data-testid="notification-bell"
      >
        <BellIcon />
        {unread > 0 && (
          <span
            aria-hidden="true"
            data-testid="unread-count"
            className="tabular absolute -right-0.5 -top-0.5 flex h-4 min-w-4 items-center justify-center rounded-full bg-rose-500 px-1 text-[10px] font-semibold text-white"
          >
            {unread > 99 ? '99+' : unread}
          </span>
        )}
      </Popover.Trigger>
      <Popover.Portal>
        <Popover.Content
          align="end"
          sideOffset={6}
          className="z-50 flex max-h-[70vh] w-[22rem] max-w-[calc(100vw-1rem)] flex-col rounded-md border border-slate-700 bg-slate-900 shadow-xl shadow-black/40 focus:outline-none"
          aria-label="Notifications"
          data-testid="notifications-panel"
        >
          <div className="flex items-center gap-2 border-b border-slate-800 px-3 py-2">
            <h2 className="text-sm font-semibold text-slate-100">Notifications</h2>
            {list.isFetching && <Spinner />}
            <button
              type="button"
              className="btn-ghost ml-auto h-7 px-2 text-xs"
              disabled={unread === 0 || markAll.isPending}
              onClick={() => markAll.mutate()}
              data-testid="mark-all-read"
            >
              Mark all read
            </button>
          </div>
          <div className="min-h-0 flex-1 overflow-y-auto p-1">
            {list.isError && <ErrorAlert title="Could not load notifications" error={list.error} onRetry={() => void list.refetch()} />}
            {(markRead.isError || markAll.isError) && <ErrorAlert title="Could not mark as read" error={markRead.error ?? markAll.error} />}
            {list.data && items.length === 0 && <p className="px-3 py-6 text-center text-slate-500">No notifications yet. Alerts you set will show here.</p>}
            {items.length > 0 && (
              <ul aria-label="Latest notifications">
                {items.map((n) => (
                  <NotificationItem key={n.id} notification={n} onRead={(x) => x.read_at === null && markRead.mutate(x.id)} />
                ))}
              </ul>
            )}
          </div>
          <div className="flex justify-between border-t border-slate-800 px-3 py-2 text-xs">
            <Link to="/alerts" className="text-sky-400 hover:underline" onClick={() => setOpen(false)}>
              Manage alerts
            </Link>
            <Link to="/notifications" className="text-sky-400 hover:underline" onClick={() => setOpen(false)}>
              See all
            </Link>
          </div>
        </Popover.Content>
      </Popover.Portal>
    </Popover.Root>
  );
}

/** The header's bell: unread count, the latest notifications, alert pushes as toasts. Signed in only. */
export function NotificationBell() {
  const status = useSession((s) => s.status);
  return status === 'authenticated' ? <Bell /> : null;
}
