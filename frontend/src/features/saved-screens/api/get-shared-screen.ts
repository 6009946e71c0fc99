import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { savedScreenKeys, type ScreenRun, type SharedScreen } from './keys';

const enc = encodeURIComponent;

/** A shared screen, read-only, for anyone with the link. */
export function getSharedScreen(token: string, signal?: AbortSignal): Promise<SharedScreen> {
  return api.get<SharedScreen>(`/screens/shared/${enc(token)}`, undefined, signal);
}

/** One page of a shared screen's results (with the caller's own field access). */
export function runSharedScreen(token: string, page: { limit: number; offset: number }, signal?: AbortSignal): Promise<ScreenRun> {
  return api.post<ScreenRun>(`/screens/shared/${enc(token)}/run`, page, signal);
}

export function useSharedScreen(token: string) {
  return useQuery(
    queryOptions({
      queryKey: savedScreenKeys.shared(token),
      queryFn: ({ signal }) => getSharedScreen(token, signal),
      staleTime: 60_000,
    }),
  );
}

export function useSharedScreenRun(token: string, page: { limit: number; offset: number }, enabled: boolean) {
  return useQuery({
    queryKey: savedScreenKeys.sharedRun(token, page.offset),
    queryFn: ({ signal }) => runSharedScreen(token, page, signal),
    placeholderData: keepPreviousData,
    staleTime: 30_000,
    enabled,
  });
}
