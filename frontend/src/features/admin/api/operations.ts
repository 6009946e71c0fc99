import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { adminKeys, type Operations } from './keys';

/** How often the Operations page asks again (the figures are per minute). */
export const OPERATIONS_REFRESH_MS = 30_000;

export function getOperations(minutes: number, signal?: AbortSignal) {
  return api.get<Operations>('/admin/operations', { minutes }, signal);
}

export const operationsQueryOptions = (minutes: number) =>
  queryOptions({
    queryKey: adminKeys.operations(minutes),
    queryFn: ({ signal }) => getOperations(minutes, signal),
    placeholderData: keepPreviousData,
    refetchInterval: OPERATIONS_REFRESH_MS,
  });

/** The platform's figures per minute over the last `minutes`, refreshed every 30 s. */
export function useOperations(minutes = 60) {
  return useQuery(operationsQueryOptions(minutes));
}
