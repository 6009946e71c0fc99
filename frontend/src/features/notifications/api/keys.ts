import type { components } from '@/types/openapi';

export type Notification = components['schemas']['NotificationPublic'];
export type Notifications = components['schemas']['NotificationsPublic'];

export const notificationKeys = {
  all: ['notifications'] as const,
  list: (userId: string, page: { limit: number; offset: number; unread: boolean }) => [...notificationKeys.all, userId, page] as const,
};
