import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { watchlistKeys, type Watchlists } from './keys';

/** Set the order of all the caller's watchlists (every id, once). */
export function reorderWatchlists(ids: string[]): Promise<Watchlists> {
  return api.put<Watchlists>('/watchlists/order', { ids });
}

/** Reorder at once on screen; put the old order back if the API refuses. */
export function useReorderWatchlists() {
  const queryClient = useQueryClient();
  const userId = useSession((s) => s.user?.id ?? '');
  const key = watchlistKeys.list(userId);
  return useMutation({
    mutationFn: reorderWatchlists,
    onMutate: async (ids) => {
      await queryClient.cancelQueries({ queryKey: key });
      const before = queryClient.getQueryData<Watchlists>(key);
      if (before) {
        const byId = new Map(before.data.map((w) => [w.id, w]));
        const data = ids.flatMap((id, position) => {
          const w = byId.get(id);
          return w ? [{ ...w, position }] : [];
        });
        queryClient.setQueryData<Watchlists>(key, { ...before, data });
      }
      return { before };
    },
    onError: (_error, _ids, context) => {
      if (context?.before) queryClient.setQueryData(key, context.before);
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: key }),
  });
}
