import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import type { BarInterval, BarsResponse } from '@/types';

export interface BarsParams {
  symbol: string;
  interval: BarInterval;
  from?: string;
  to?: string;
  limit?: number;
}

export function getBars({ symbol, interval, from, to, limit = 5000 }: BarsParams, signal?: AbortSignal) {
  return api.get<BarsResponse>(
    `/securities/${encodeURIComponent(symbol)}/bars`,
    { interval, from, to, limit },
    signal,
  );
}

export function getBarsQueryOptions(params: BarsParams) {
  return queryOptions({
    queryKey: ['securities', 'bars', params] as const,
    queryFn: ({ signal }) => getBars(params, signal),
    staleTime: 5 * 60_000,
    // Keep the previous interval's bars on screen while switching interval, but never show
    // another symbol's bars.
    placeholderData: (previous, previousQuery) =>
      previousQuery?.queryKey[2].symbol === params.symbol ? previous : undefined,
  });
}

export function useBars(params: BarsParams, { enabled = true }: { enabled?: boolean } = {}) {
  return useQuery({ ...getBarsQueryOptions(params), enabled });
}
