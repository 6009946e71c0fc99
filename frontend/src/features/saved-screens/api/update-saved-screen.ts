import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import type { components } from '@/types/openapi';
import { savedScreenKeys, screenPath, type SavedScreen } from './keys';

/** Only the fields sent change (a `query` or `ast` replaces the condition; `name` cannot be null). */
export type SavedScreenPatch = Partial<components['schemas']['SavedScreenPatch']>;

export function updateSavedScreen({ id, patch }: { id: string; patch: SavedScreenPatch }): Promise<SavedScreen> {
  return api.patch<SavedScreen>(screenPath(id), patch);
}

export function useUpdateSavedScreen() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: updateSavedScreen,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: savedScreenKeys.all }),
  });
}
