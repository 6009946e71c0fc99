import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { savedScreenKeys, screenPath } from './keys';

export function deleteSavedScreen(id: string): Promise<void> {
  return api.delete(screenPath(id));
}

export function useDeleteSavedScreen() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: deleteSavedScreen,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: savedScreenKeys.all }),
  });
}
