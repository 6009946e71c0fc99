import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import type { SecurityDetail } from '@/types';

export function getSecurity(symbol: string, signal?: AbortSignal): Promise<SecurityDetail> {
  return api.get<SecurityDetail>(`/securities/${encodeURIComponent(symbol)}`, undefined, signal);
}

export function getSecurityQueryOptions(symbol: string) {
  return queryOptions({
    queryKey: ['securities', 'detail', symbol] as const,
    queryFn: ({ signal }) => getSecurity(symbol, signal),
    staleTime: 60_000,
  });
}

export function useSecurity(symbol: string) {
  return useQuery(getSecurityQueryOptions(symbol));
}
