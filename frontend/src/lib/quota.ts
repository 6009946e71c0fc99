import { ApiError } from './api-client';

/** A plan-quota refusal: the API answers 403 with `{quota, limit, used, role}` in the error details. */
export interface QuotaRefusal {
  quota: string;
  limit: number;
  used?: number;
  role?: string;
}

/** The quota an error reports, when it is a quota refusal (of `name`, when given). */
export function quotaOf(error: unknown, name?: string): QuotaRefusal | null {
  if (!(error instanceof ApiError) || (error.status !== 403 && error.status !== 409)) return null;
  const d = error.details as { quota?: unknown; limit?: unknown; used?: unknown; role?: unknown } | null | undefined;
  if (!d || typeof d !== 'object' || typeof d.quota !== 'string' || typeof d.limit !== 'number') return null;
  if (name !== undefined && d.quota !== name) return null;
  return {
    quota: d.quota,
    limit: d.limit,
    used: typeof d.used === 'number' ? d.used : undefined,
    role: typeof d.role === 'string' ? d.role : undefined,
  };
}

/** An error alert's title: says so when the plan's limit was reached, else `fallback`. */
export function quotaTitle(error: unknown, name: string, what: string, fallback: string): string {
  return quotaOf(error, name) ? `You have reached your plan's ${what} limit` : fallback;
}
