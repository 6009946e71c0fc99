import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import type { components } from '@/types/openapi';
import type { IntradayTimeframe } from '../model/candles';

export type IntradayResponse = components['schemas']['IntradayPublic'];
export type MarketSession = components['schemas']['MarketSession'];

export interface IntradayParams {
  symbol: string;
  interval: IntradayTimeframe;
}

export function getIntraday({ symbol, interval }: IntradayParams, signal?: AbortSignal) {
  return api.get<IntradayResponse>(`/securities/${encodeURIComponent(symbol)}/intraday`, { interval }, signal);
}

export function getIntradayQueryOptions(params: IntradayParams) {
  return queryOptions({
    queryKey: ['securities', 'intraday', params] as const,
    queryFn: ({ signal }) => getIntraday(params, signal),
    // live ticks move the last candle in between; a refetch now and then brings the poller's bars and
    // the market session (it opens and closes)
    staleTime: 30_000,
    refetchInterval: 60_000,
    placeholderData: (previous, previousQuery) =>
      previousQuery?.queryKey[2].symbol === params.symbol ? previous : undefined,
  });
}

export function useIntraday(params: IntradayParams) {
  return useQuery(getIntradayQueryOptions(params));
}
