import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { watchlistKeys, watchlistPath, type Watchlist } from './keys';

/** Set the order of a watchlist's items (every symbol, once). */
export function reorderWatchlistItems({ id, symbols }: { id: string; symbols: string[] }): Promise<Watchlist> {
  return api.put<Watchlist>(`${watchlistPath(id)}/items/order`, { symbols });
}

/** Reorder at once on screen; put the old order back if the API refuses. */
export function useReorderWatchlistItems() {
  const queryClient = useQueryClient();
  const userId = useSession((s) => s.user?.id ?? '');
  return useMutation({
    mutationFn: reorderWatchlistItems,
    onMutate: async ({ id, symbols }) => {
      const key = watchlistKeys.detail(userId, id);
      await queryClient.cancelQueries({ queryKey: key });
      const before = queryClient.getQueryData<Watchlist>(key);
      if (before) {
        const bySymbol = new Map(before.items.map((i) => [i.symbol, i]));
        const items = symbols.flatMap((s, position) => {
          const item = bySymbol.get(s);
          return item ? [{ ...item, position }] : [];
        });
        queryClient.setQueryData<Watchlist>(key, { ...before, items });
      }
      return { before };
    },
    onError: (_error, { id }, context) => {
      if (context?.before) queryClient.setQueryData(watchlistKeys.detail(userId, id), context.before);
    },
    onSuccess: (watchlist) => queryClient.setQueryData(watchlistKeys.detail(userId, watchlist.id), watchlist),
  });
}
