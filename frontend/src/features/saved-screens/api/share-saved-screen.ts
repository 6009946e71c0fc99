import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { savedScreenKeys, screenPath, type SavedScreen } from './keys';

/** Publish a read-only link (idempotent: the same token while shared). */
export function shareSavedScreen(id: string): Promise<SavedScreen> {
  return api.post<SavedScreen>(`${screenPath(id)}/share`);
}

/** Revoke the link: the old token stops working at once. */
export function unshareSavedScreen(id: string): Promise<void> {
  return api.delete(`${screenPath(id)}/share`);
}

/** The SPA address of a shared screen (the API's is /api/screens/shared/{token}). */
export function shareUrl(token: string, origin = window.location.origin): string {
  return `${origin}/screens/shared/${encodeURIComponent(token)}`;
}

export function useShareSavedScreen() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, shared }: { id: string; shared: boolean }): Promise<SavedScreen | void> =>
      shared ? shareSavedScreen(id) : unshareSavedScreen(id),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: savedScreenKeys.all }),
  });
}
