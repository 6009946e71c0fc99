import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { watchlistKeys, watchlistPath, type Watchlist } from './keys';

export function renameWatchlist({ id, name }: { id: string; name: string }): Promise<Watchlist> {
  return api.patch<Watchlist>(watchlistPath(id), { name });
}

export function useRenameWatchlist() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: renameWatchlist,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: watchlistKeys.all }),
  });
}
