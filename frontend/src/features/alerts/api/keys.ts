import type { components } from '@/types/openapi';

export type Alert = components['schemas']['AlertPublic'];
export type Alerts = components['schemas']['AlertsPublic'];
export type AlertRule = components['schemas']['AlertCreate']['rule'];
export type AlertType = AlertRule['type'];
export type AlertEvent = components['schemas']['AlertEventPublic'];
export type AlertEvents = components['schemas']['AlertEventsPublic'];

export const alertKeys = {
  all: ['alerts'] as const,
  list: (userId: string) => [...alertKeys.all, 'list', userId] as const,
  history: (userId: string, alertId: string, page: { limit: number; offset: number }) => [...alertKeys.all, 'history', userId, alertId, page] as const,
  preferences: (userId: string) => ['notification-preferences', userId] as const,
};

export const alertPath = (id: string) => `/alerts/${encodeURIComponent(id)}`;
export const PREFERENCES_PATH = '/me/notification-preferences';
