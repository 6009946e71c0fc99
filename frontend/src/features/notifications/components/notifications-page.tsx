import { useState } from 'react';
import { ErrorAlert } from '@/components/ui/error-alert';
import { OffsetPager } from '@/components/ui/offset-pager';
import { Spinner } from '@/components/ui/spinner';
import { useNotifications } from '../api/list-notifications';
import { useMarkAllNotificationsRead } from '../api/mark-all-read';
import { useMarkNotificationRead } from '../api/mark-read';
import { NotificationItem } from './notification-item';
import { CardHeader, CountBadge } from '@/components/ui/card-header';

const PAGE = 50;

/** Every notification, newest first, a page at a time; unread only on request. */
export function NotificationsPage() {
  const [offset, setOffset] = useState(0);
  const [unreadOnly, setUnreadOnly] = useState(false);
  const list = useNotifications({ limit: PAGE, offset, unread: unreadOnly });
  const markRead = useMarkNotificationRead();
  const markAll = useMarkAllNotificationsRead();
  const count = list.data?.count ?? 0;
  return (
    <section className="card flex flex-col" aria-labelledby="notifications-heading" data-testid="notifications-page">
      <CardHeader id="notifications-heading" level={1} title="Notifications" className="flex-wrap gap-2">
        {list.data && <CountBadge>{list.data.unread} unread</CountBadge>}
        {list.isFetching && <Spinner />}
        <label className="ml-auto flex items-center gap-2 text-xs text-slate-300">
          <input
            type="checkbox"
            className="h-4 w-4 accent-sky-500"
            checked={unreadOnly}
            onChange={(e) => {
              setUnreadOnly(e.target.checked);
              setOffset(0);
            }}
          />
          Unread only
        </label>
        <button type="button" className="btn-secondary h-7 px-2 text-xs" disabled={!list.data?.unread || markAll.isPending} onClick={() => markAll.mutate()}>
          Mark all read
        </button>
      </CardHeader>
      <div className="p-2">
        {list.isPending && (
          <p className="flex items-center gap-2 px-2 py-6 text-slate-400">
            <Spinner /> Loading…
          </p>
        )}
        {list.isError && <ErrorAlert title="Could not load notifications" error={list.error} onRetry={() => void list.refetch()} />}
        {(markRead.isError || markAll.isError) && <ErrorAlert title="Could not mark as read" error={markRead.error ?? markAll.error} />}
        {list.data && list.data.data.length === 0 && (
          <p className="px-2 py-10 text-center text-slate-500">{unreadOnly ? 'Nothing unread.' : 'No notifications yet. Alerts you set will show here.'}</p>
        )}
        {list.data && list.data.data.length > 0 && (
          <ul aria-label="Notifications">
            {list.data.data.map((n) => (
              <NotificationItem key={n.id} notification={n} onRead={(x) => x.read_at === null && markRead.mutate(x.id)} />
            ))}
          </ul>
        )}
      </div>
      <OffsetPager offset={offset} pageSize={PAGE} count={count} onOffset={setOffset} previous="Newer" next="Older" />
    </section>
  );
}
