import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { watchlistKeys, watchlistPath, type Watchlist } from './keys';

/** One watchlist with its items and their latest quotes (live when streaming, else the last close). */
export function getWatchlist(id: string, signal?: AbortSignal): Promise<Watchlist> {
  return api.get<Watchlist>(watchlistPath(id), undefined, signal);
}

export function getWatchlistQueryOptions(userId: string, id: string) {
  return queryOptions({
    queryKey: watchlistKeys.detail(userId, id),
    queryFn: ({ signal }) => getWatchlist(id, signal),
    staleTime: 30_000,
  });
}

/** `poll`: refetch this often (ms), for the symbols the WebSocket does not follow. */
export function useWatchlist(id: string | undefined, { poll }: { poll?: number } = {}) {
  const userId = useSession((s) => s.user?.id ?? '');
  return useQuery({ ...getWatchlistQueryOptions(userId, id ?? ''), enabled: userId !== '' && !!id, refetchInterval: poll });
}
