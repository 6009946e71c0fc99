import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { portfolioKeys, type Portfolios } from './keys';

/** Premium's quota is 10 portfolios: one page of 100 holds them all. */
export function listPortfolios(signal?: AbortSignal): Promise<Portfolios> {
  return api.get<Portfolios>('/portfolios', { limit: 100 }, signal);
}

export function listPortfoliosQueryOptions(userId: string) {
  return queryOptions({ queryKey: portfolioKeys.list(userId), queryFn: ({ signal }) => listPortfolios(signal), staleTime: 30_000 });
}

export function usePortfolios() {
  const userId = useSession((s) => s.user?.id ?? '');
  return useQuery({ ...listPortfoliosQueryOptions(userId), enabled: userId !== '' });
}
