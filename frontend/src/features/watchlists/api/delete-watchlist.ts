import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { watchlistKeys, watchlistPath } from './keys';

export function deleteWatchlist(id: string): Promise<void> {
  return api.delete(watchlistPath(id));
}

export function useDeleteWatchlist() {
  const queryClient = useQueryClient();
  const userId = useSession((s) => s.user?.id ?? '');
  return useMutation({
    mutationFn: deleteWatchlist,
    onSuccess: (_data, id) => {
      queryClient.removeQueries({ queryKey: watchlistKeys.detail(userId, id) });
      return queryClient.invalidateQueries({ queryKey: watchlistKeys.list(userId) });
    },
  });
}
