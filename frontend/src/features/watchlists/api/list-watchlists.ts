import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { watchlistKeys, type Watchlists } from './keys';

/** Premium's quota is 50 watchlists: one page of 100 holds every list a plan allows. */
export function listWatchlists(signal?: AbortSignal): Promise<Watchlists> {
  return api.get<Watchlists>('/watchlists', { limit: 100 }, signal);
}

export function listWatchlistsQueryOptions(userId: string) {
  return queryOptions({
    queryKey: watchlistKeys.list(userId),
    queryFn: ({ signal }) => listWatchlists(signal),
    staleTime: 30_000,
  });
}

/** The signed-in user's watchlists, in their order (idle while anonymous or when `enabled` is false). */
export function useWatchlists({ enabled = true }: { enabled?: boolean } = {}) {
  const userId = useSession((s) => s.user?.id ?? '');
  return useQuery({ ...listWatchlistsQueryOptions(userId), enabled: enabled && userId !== '' });
}
