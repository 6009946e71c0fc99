import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { portfolioKeys, portfolioPath, type Transactions } from './keys';

export const TRANSACTIONS_PAGE = 100;

/** One page of a portfolio's transactions, in date order. */
export function listTransactions(id: string, offset: number, signal?: AbortSignal): Promise<Transactions> {
  return api.get<Transactions>(`${portfolioPath(id)}/transactions`, { limit: TRANSACTIONS_PAGE, offset }, signal);
}

export function listTransactionsQueryOptions(userId: string, id: string, offset: number) {
  return queryOptions({
    queryKey: portfolioKeys.transactions(userId, id, offset),
    queryFn: ({ signal }) => listTransactions(id, offset, signal),
    staleTime: 30_000,
    placeholderData: keepPreviousData,
  });
}

export function useTransactions(id: string, offset: number) {
  const userId = useSession((s) => s.user?.id ?? '');
  return useQuery({ ...listTransactionsQueryOptions(userId, id, offset), enabled: userId !== '' });
}
