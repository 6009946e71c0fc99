import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import type { components } from '@/types/openapi';
import { portfolioKeys, portfolioPath, type Transaction } from './keys';

export type TransactionCreate = components['schemas']['TransactionCreate'];

/** Record a buy, sell, dividend or split; a sell of more than is held is refused (400, with the holding). */
export function addTransaction({ id, body }: { id: string; body: TransactionCreate }): Promise<Transaction> {
  return api.post<Transaction>(`${portfolioPath(id)}/transactions`, body);
}

/** Holdings, transactions and performance all follow from the transactions: refetch them all. */
export function useAddTransaction() {
  const queryClient = useQueryClient();
  const userId = useSession((s) => s.user?.id ?? '');
  return useMutation({
    mutationFn: addTransaction,
    onSuccess: (_data, { id }) =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: portfolioKeys.portfolio(userId, id) }),
        queryClient.invalidateQueries({ queryKey: portfolioKeys.list(userId) }),
      ]),
  });
}
