import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { notificationKeys, type Notification, type Notifications } from './keys';

export function markNotificationRead(id: number): Promise<Notification> {
  return api.post<Notification>(`/notifications/${id}/read`);
}

/** Mark one read: shown at once in every cached page, then refetched. */
export function useMarkNotificationRead() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: markNotificationRead,
    onSuccess: (read) => {
      queryClient.setQueriesData<Notifications>({ queryKey: notificationKeys.all }, (page) => {
        if (!page) return page;
        const was = page.data.find((n) => n.id === read.id);
        const newlyRead = was && was.read_at === null ? 1 : 0;
        return { ...page, unread: Math.max(0, page.unread - newlyRead), data: page.data.map((n) => (n.id === read.id ? read : n)) };
      });
      return queryClient.invalidateQueries({ queryKey: notificationKeys.all });
    },
  });
}
