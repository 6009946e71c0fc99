import type { components } from '@/types/openapi';

export type Report = components['schemas']['ReportPublic'];
export type Reports = components['schemas']['ReportsPublic'];
export type ReportSchedule = components['schemas']['ReportSchedule'];
export type ReportDownload = components['schemas']['ReportDownload'];

export const reportKeys = {
  all: ['reports'] as const,
  list: (userId: string, page: { limit: number; offset: number }) => [...reportKeys.all, 'list', userId, page] as const,
  schedule: (userId: string) => [...reportKeys.all, 'schedule', userId] as const,
};
