import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { notificationKeys, type Notifications } from './keys';

export interface NotificationsPage {
  limit: number;
  offset: number;
  /** Only the unread ones. */
  unread: boolean;
}

/** A page of the caller's notifications, newest first, with the unread count. */
export function listNotifications(page: NotificationsPage, signal?: AbortSignal): Promise<Notifications> {
  return api.get<Notifications>('/notifications', { limit: page.limit, offset: page.offset, unread: page.unread || undefined }, signal);
}

export function listNotificationsQueryOptions(userId: string, page: NotificationsPage) {
  return queryOptions({
    queryKey: notificationKeys.list(userId, page),
    queryFn: ({ signal }) => listNotifications(page, signal),
    staleTime: 30_000,
    placeholderData: keepPreviousData,
  });
}

/** `poll`: refetch this often (ms) while mounted, e.g. the header's unread count. */
export function useNotifications(page: NotificationsPage, { poll }: { poll?: number } = {}) {
  const userId = useSession((s) => s.user?.id ?? '');
  return useQuery({ ...listNotificationsQueryOptions(userId, page), enabled: userId !== '', refetchInterval: poll });
}
