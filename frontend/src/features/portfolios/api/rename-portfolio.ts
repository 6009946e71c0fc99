import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { portfolioKeys, portfolioPath, type PortfolioSummary } from './keys';

export function renamePortfolio({ id, name }: { id: string; name: string }): Promise<PortfolioSummary> {
  return api.patch<PortfolioSummary>(portfolioPath(id), { name });
}

export function useRenamePortfolio() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: renamePortfolio,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: portfolioKeys.all }),
  });
}
