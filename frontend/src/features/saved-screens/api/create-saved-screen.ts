import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import type { components } from '@/types/openapi';
import { savedScreenKeys, type SavedScreen } from './keys';

export type SavedScreenIn = components['schemas']['SavedScreenIn'];

/** Save a screen; over the plan's quota the API answers 403 with the limit in its details. */
export function createSavedScreen(body: SavedScreenIn): Promise<SavedScreen> {
  return api.post<SavedScreen>('/screens/saved', body);
}

export function useCreateSavedScreen() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createSavedScreen,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: savedScreenKeys.all }),
  });
}
