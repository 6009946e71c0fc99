import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { reportKeys, type Reports } from './keys';

export interface ReportsPage {
  limit: number;
  offset: number;
}

/** A page of the caller's stored reports, newest first. */
export function listReports(page: ReportsPage, signal?: AbortSignal): Promise<Reports> {
  return api.get<Reports>('/reports', { limit: page.limit, offset: page.offset }, signal);
}

export function listReportsQueryOptions(userId: string, page: ReportsPage) {
  return queryOptions({
    queryKey: reportKeys.list(userId, page),
    queryFn: ({ signal }) => listReports(page, signal),
    staleTime: 15_000,
    placeholderData: keepPreviousData,
  });
}

export function useReports(page: ReportsPage) {
  const userId = useSession((s) => s.user?.id ?? '');
  return useQuery({ ...listReportsQueryOptions(userId, page), enabled: userId !== '' });
}
