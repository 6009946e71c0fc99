import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { portfolioKeys, portfolioPath } from './keys';

/** Delete a transaction (refused when the remaining history would sell more than it holds). */
export function deleteTransaction({ id, txnId }: { id: string; txnId: string }): Promise<void> {
  return api.delete(`${portfolioPath(id)}/transactions/${encodeURIComponent(txnId)}`);
}

export function useDeleteTransaction() {
  const queryClient = useQueryClient();
  const userId = useSession((s) => s.user?.id ?? '');
  return useMutation({
    mutationFn: deleteTransaction,
    onSuccess: (_data, { id }) =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: portfolioKeys.portfolio(userId, id) }),
        queryClient.invalidateQueries({ queryKey: portfolioKeys.list(userId) }),
      ]),
  });
}
