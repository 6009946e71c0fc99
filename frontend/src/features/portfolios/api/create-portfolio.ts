import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { portfolioKeys, type PortfolioSummary } from './keys';

/** Create a portfolio; the plan limits how many (free: 1), the API answering 403 with the limit. */
export function createPortfolio(name: string): Promise<PortfolioSummary> {
  return api.post<PortfolioSummary>('/portfolios', { name });
}

export function useCreatePortfolio() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createPortfolio,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: portfolioKeys.all }),
  });
}
