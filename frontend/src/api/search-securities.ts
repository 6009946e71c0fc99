import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import type { SecuritySearchResponse } from '@/types';

export function searchSecurities(q: string, limit = 10, signal?: AbortSignal): Promise<SecuritySearchResponse> {
  return api.get<SecuritySearchResponse>('/securities', { q, limit }, signal);
}

export function searchSecuritiesQueryOptions(q: string, limit = 10) {
  const term = q.trim();
  return queryOptions({
    queryKey: ['securities', 'search', { q: term, limit }] as const,
    queryFn: ({ signal }) => searchSecurities(term, limit, signal),
    enabled: term.length > 0,
    staleTime: 5 * 60_000,
    placeholderData: keepPreviousData,
  });
}

export function useSearchSecurities(q: string, limit = 10) {
  return useQuery(searchSecuritiesQueryOptions(q, limit));
}
