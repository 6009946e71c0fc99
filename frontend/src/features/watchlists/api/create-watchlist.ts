import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { watchlistKeys, type Watchlist } from './keys';

/** Create a watchlist; over the plan's quota the API answers 403 with the limit in its details. */
export function createWatchlist(name: string): Promise<Watchlist> {
  return api.post<Watchlist>('/watchlists', { name });
}

export function useCreateWatchlist() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createWatchlist,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: watchlistKeys.all }),
  });
}
