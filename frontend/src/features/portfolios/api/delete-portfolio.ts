import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { portfolioKeys, portfolioPath } from './keys';

export function deletePortfolio(id: string): Promise<void> {
  return api.delete(portfolioPath(id));
}

export function useDeletePortfolio() {
  const queryClient = useQueryClient();
  const userId = useSession((s) => s.user?.id ?? '');
  return useMutation({
    mutationFn: deletePortfolio,
    onSuccess: (_data, id) => {
      queryClient.removeQueries({ queryKey: portfolioKeys.portfolio(userId, id) });
      return queryClient.invalidateQueries({ queryKey: portfolioKeys.list(userId) });
    },
  });
}
