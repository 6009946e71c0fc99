import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import type { PresetsResponse } from '@/types';

/** The named screens (stockscreen.screening.presets), each flagged `premium` when the free plan cannot run it. */
export function getPresets(signal?: AbortSignal): Promise<PresetsResponse> {
  return api.get<PresetsResponse>('/screens/presets', undefined, signal);
}

export function getPresetsQueryOptions() {
  return queryOptions({
    queryKey: ['screener', 'presets'] as const,
    queryFn: ({ signal }) => getPresets(signal),
    staleTime: Infinity,
  });
}

export function usePresets() {
  return useQuery(getPresetsQueryOptions());
}
