import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { portfolioKeys, portfolioPath, type Performance } from './keys';

/** Daily value and time-weighted index (100 = first day) against the equal-weighted universe index. */
export function getPerformance(id: string, signal?: AbortSignal): Promise<Performance> {
  return api.get<Performance>(`${portfolioPath(id)}/performance`, undefined, signal);
}

export function getPerformanceQueryOptions(userId: string, id: string) {
  return queryOptions({ queryKey: portfolioKeys.performance(userId, id), queryFn: ({ signal }) => getPerformance(id, signal), staleTime: 5 * 60_000 });
}

export function usePerformance(id: string, enabled = true) {
  const userId = useSession((s) => s.user?.id ?? '');
  return useQuery({ ...getPerformanceQueryOptions(userId, id), enabled: enabled && userId !== '' });
}
