import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import type { components } from '@/types/openapi';

type Schemas = components['schemas'];
/** What the page sends: the screen plus any settings it changes (the API fills in the defaults). */
export type BacktestRequest = Partial<Schemas['BacktestRequest']> & { query: string };
export type BacktestResult = Schemas['BacktestResult'];
export type BacktestPeriod = Schemas['BacktestPeriod'];
export type BacktestStats = Schemas['BacktestStats'];

export function runBacktest(request: BacktestRequest, signal?: AbortSignal): Promise<BacktestResult> {
  return api.post<BacktestResult>('/screens/backtest', request, signal);
}

export const backtestKeys = {
  all: ['backtest'] as const,
  run: (request: BacktestRequest) => [...backtestKeys.all, request] as const,
};

export function runBacktestQueryOptions(request: BacktestRequest) {
  return queryOptions({
    queryKey: backtestKeys.run(request),
    queryFn: ({ signal }) => runBacktest(request, signal),
    staleTime: 5 * 60_000,
  });
}

/** Runs when a request is given (the form's last submission); a backtest is a premium feature. */
export function useBacktest(request: BacktestRequest | null) {
  return useQuery({
    ...runBacktestQueryOptions(request ?? { query: '' }),
    enabled: request !== null,
  });
}
