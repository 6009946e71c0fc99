import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import type { FieldsResponse } from '@/types';

export function getFields(signal?: AbortSignal): Promise<FieldsResponse> {
  return api.get<FieldsResponse>('/screener/fields', undefined, signal);
}

export function getFieldsQueryOptions() {
  return queryOptions({
    queryKey: ['screener', 'fields'] as const,
    queryFn: ({ signal }) => getFields(signal),
    staleTime: Infinity,
  });
}

export function useFields() {
  return useQuery(getFieldsQueryOptions());
}
