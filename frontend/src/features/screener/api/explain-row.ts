import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import type { ExplainResponse } from '@/types';

export interface ExplainParams {
  symbol: string;
  /** The screen's canonical query text (a run's `query`). */
  query: string;
  /** The date the results were computed for, so the explanation matches the row. */
  asOf?: string | null;
}

export function explainRow({ symbol, query, asOf }: ExplainParams, signal?: AbortSignal): Promise<ExplainResponse> {
  return api.get<ExplainResponse>('/screens/explain', { symbol, query, as_of: asOf ?? undefined }, signal);
}

export function explainRowQueryOptions(params: ExplainParams) {
  return queryOptions({
    queryKey: ['screener', 'explain', params.symbol, params.query, params.asOf ?? null] as const,
    queryFn: ({ signal }) => explainRow(params, signal),
    staleTime: 60_000,
  });
}

export function useExplainRow(params: ExplainParams, enabled: boolean) {
  return useQuery({ ...explainRowQueryOptions(params), enabled });
}
