import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { savedScreenKeys, screenPath, type SavedScreen } from './keys';

/** A private copy named "<name> (copy)"; counts against the quota. */
export function duplicateSavedScreen(id: string): Promise<SavedScreen> {
  return api.post<SavedScreen>(`${screenPath(id)}/duplicate`, {});
}

export function useDuplicateSavedScreen() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: duplicateSavedScreen,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: savedScreenKeys.all }),
  });
}
