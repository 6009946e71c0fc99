import type { components } from '@/types/openapi';

export type Run = components['schemas']['RunPublic'];
export type Runs = components['schemas']['RunsPublic'];
export type Finding = components['schemas']['FindingPublic'];
export type Findings = components['schemas']['FindingsPublic'];
export type TrendPoint = components['schemas']['TrendPoint'];
export type Trend = components['schemas']['TrendPublic'];
export type Release = components['schemas']['ReleasePublic'];
export type Upload = components['schemas']['UploadPublic'];
export type UploadStatus = components['schemas']['UploadStatus'];
export type RunProgress = components['schemas']['RunProgress'];
export type AdminUser = components['schemas']['UserPublic'];
export type AdminUsers = components['schemas']['UsersPublic'];
export type AuditEntries = components['schemas']['AuditPublic'];
export type AuditEntry = components['schemas']['AuditEntry'];
export type Operations = components['schemas']['OperationsPublic'];
export type OperationsChart = components['schemas']['OperationsChart'];
export type OperationsProblem = components['schemas']['OperationsProblem'];

export interface FindingFilters {
  run_id?: string;
  rule?: string;
  symbol?: string;
  severity?: '' | 'error' | 'warning' | 'info';
  action?: '' | 'quarantined' | 'loaded' | 'corrected' | 'skipped';
  offset: number;
  limit: number;
}

/** Query keys of the admin area (one user's view: admins only). */
export const adminKeys = {
  all: ['admin'] as const,
  runs: (offset: number) => [...adminKeys.all, 'runs', offset] as const,
  findings: (f: FindingFilters) => [...adminKeys.all, 'findings', f] as const,
  trend: (days: number) => [...adminKeys.all, 'trend', days] as const,
  upload: (id: string) => [...adminKeys.all, 'upload', id] as const,
  users: (q: string, offset: number) => [...adminKeys.all, 'users', q, offset] as const,
  audit: (action: string, offset: number) => [...adminKeys.all, 'audit', action, offset] as const,
  operations: (minutes: number) => [...adminKeys.all, 'operations', minutes] as const,
};
