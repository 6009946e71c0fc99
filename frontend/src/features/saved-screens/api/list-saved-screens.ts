import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { savedScreenKeys, type SavedScreens } from './keys';

/** The free plan's quota is 3 and premium's 100: one page of 100 holds every screen a plan allows. */
const PAGE_LIMIT = 100;

export function listSavedScreens(signal?: AbortSignal): Promise<SavedScreens> {
  return api.get<SavedScreens>('/screens/saved', { limit: PAGE_LIMIT }, signal);
}

export function listSavedScreensQueryOptions(userId: string) {
  return queryOptions({
    queryKey: savedScreenKeys.list(userId),
    queryFn: ({ signal }) => listSavedScreens(signal),
    staleTime: 30_000,
  });
}

/** The signed-in user's saved screens (idle while anonymous). */
export function useSavedScreens() {
  const userId = useSession((s) => s.user?.id ?? '');
  return useQuery({ ...listSavedScreensQueryOptions(userId), enabled: userId !== '' });
}
