import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { watchlistKeys, watchlistPath, type Watchlist } from './keys';

/** Add a symbol to the end of a watchlist (409 when it is already there, 400 for an unknown symbol). */
export function addWatchlistItem({ id, symbol }: { id: string; symbol: string }): Promise<Watchlist> {
  return api.post<Watchlist>(`${watchlistPath(id)}/items`, { symbol });
}

export function useAddWatchlistItem() {
  const queryClient = useQueryClient();
  const userId = useSession((s) => s.user?.id ?? '');
  return useMutation({
    mutationFn: addWatchlistItem,
    onSuccess: (watchlist) => {
      queryClient.setQueryData(watchlistKeys.detail(userId, watchlist.id), watchlist);
      return queryClient.invalidateQueries({ queryKey: watchlistKeys.list(userId) });
    },
  });
}
