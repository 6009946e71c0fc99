import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { watchlistKeys, watchlistPath } from './keys';

export function removeWatchlistItem({ id, symbol }: { id: string; symbol: string }): Promise<void> {
  return api.delete(`${watchlistPath(id)}/items/${encodeURIComponent(symbol)}`);
}

export function useRemoveWatchlistItem() {
  const queryClient = useQueryClient();
  const userId = useSession((s) => s.user?.id ?? '');
  return useMutation({
    mutationFn: removeWatchlistItem,
    onSuccess: (_data, { id }) =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: watchlistKeys.detail(userId, id) }),
        queryClient.invalidateQueries({ queryKey: watchlistKeys.list(userId) }),
      ]),
  });
}
