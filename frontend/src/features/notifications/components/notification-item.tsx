import { Link } from 'react-router-dom';
import { cn } from '@/lib/cn';
import type { Notification } from '../api/keys';

export function timeAgo(iso: string, now = Date.now()): string {
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(t).toLocaleDateString('en-US', { month: 'short', day: 'numeric', year: 'numeric' });
}

/** One notification: unread ones are marked and say so to screen readers; activating one marks it read. */
export function NotificationItem({ notification, onRead, pending }: { notification: Notification; onRead: (n: Notification) => void; pending?: boolean }) {
  const unread = notification.read_at === null;
  const alertId = typeof notification.data?.alert_id === 'string' ? notification.data.alert_id : null;
  return (
    <li data-testid="notification" data-unread={unread || undefined} className="relative">
      <button
        type="button"
        onClick={() => onRead(notification)}
        disabled={pending}
        className={cn('flex w-full items-start gap-2 rounded px-2 py-1.5 text-left hover:bg-slate-800/70', unread ? 'text-slate-100' : 'text-slate-400', alertId && 'pr-12')}
        aria-label={`${unread ? 'Unread: ' : ''}${notification.title}${unread ? '. Mark read' : ''}`}
      >
        <span className={cn('mt-1.5 h-2 w-2 flex-none rounded-full', unread ? 'bg-sky-400' : 'bg-transparent')} aria-hidden="true" />
        <span className="min-w-0 flex-1">
          <span className={cn('block', unread && 'font-medium')}>{notification.title}</span>
          {notification.body && <span className="block text-xs text-slate-400">{notification.body}</span>}
          <span className="block text-[11px] text-slate-500">{timeAgo(notification.created_at)}</span>
        </span>
      </button>
      {alertId && (
        <Link
          to={`/alerts?history=${encodeURIComponent(alertId)}`}
          className="absolute right-2 top-1.5 text-[11px] text-sky-400 hover:underline"
          aria-label={`Why: ${notification.title}`}
          data-testid="notification-history"
        >
          Why?
        </Link>
      )}
    </li>
  );
}
