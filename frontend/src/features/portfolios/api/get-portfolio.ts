import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { portfolioKeys, portfolioPath, type Portfolio } from './keys';

/** A portfolio with its holdings (FIFO cost basis), P&L and totals. */
export function getPortfolio(id: string, signal?: AbortSignal): Promise<Portfolio> {
  return api.get<Portfolio>(portfolioPath(id), undefined, signal);
}

export function getPortfolioQueryOptions(userId: string, id: string) {
  return queryOptions({ queryKey: portfolioKeys.detail(userId, id), queryFn: ({ signal }) => getPortfolio(id, signal), staleTime: 30_000 });
}

export function usePortfolio(id: string | undefined) {
  const userId = useSession((s) => s.user?.id ?? '');
  return useQuery({ ...getPortfolioQueryOptions(userId, id ?? ''), enabled: userId !== '' && !!id });
}
