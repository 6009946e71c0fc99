import type { components } from '@/types/openapi';

export type Alert = components['schemas']['AlertPublic'];
export type Alerts = components['schemas']['AlertsPublic'];
export type AlertRule = components['schemas']['AlertCreate']['rule'];
export type AlertType = AlertRule['type'];

export const alertKeys = {
  all: ['alerts'] as const,
  list: (userId: string) => [...alertKeys.all, 'list', userId] as const,
};

export const alertPath = (id: string) => `/alerts/${encodeURIComponent(id)}`;
