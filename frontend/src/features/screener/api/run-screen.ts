import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import type { ScreenResponse } from '@/types';
import type { ScreenRequest } from '../stores/filter-model';

export function runScreen(request: ScreenRequest, signal?: AbortSignal): Promise<ScreenResponse> {
  return api.post<ScreenResponse>('/screens/run', request, signal);
}

export const screenKeys = {
  all: ['screener', 'run'] as const,
  run: (request: ScreenRequest) => [...screenKeys.all, request] as const,
};

export function runScreenQueryOptions(request: ScreenRequest) {
  return queryOptions({
    queryKey: screenKeys.run(request),
    queryFn: ({ signal }) => runScreen(request, signal),
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
}

export function useRunScreen(request: ScreenRequest) {
  return useQuery(runScreenQueryOptions(request));
}
