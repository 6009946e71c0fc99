import type { components } from '@/types/openapi';

export type WatchlistSummary = components['schemas']['WatchlistSummary'];
export type Watchlists = components['schemas']['WatchlistsPublic'];
export type Watchlist = components['schemas']['WatchlistPublic'];
export type WatchlistItem = components['schemas']['WatchlistItemPublic'];

/** Query keys: keyed by the user, so another account never sees them from the cache. */
export const watchlistKeys = {
  all: ['watchlists'] as const,
  list: (userId: string) => [...watchlistKeys.all, 'list', userId] as const,
  detail: (userId: string, id: string) => [...watchlistKeys.all, 'detail', userId, id] as const,
};

export const watchlistPath = (id: string) => `/watchlists/${encodeURIComponent(id)}`;

/** `list` with the item at `index` moved by `delta` places (clamped). */
export function moved<T>(list: readonly T[], index: number, delta: number): T[] {
  const to = Math.max(0, Math.min(list.length - 1, index + delta));
  const out = [...list];
  const [item] = out.splice(index, 1);
  if (item !== undefined) out.splice(to, 0, item);
  return out;
}
