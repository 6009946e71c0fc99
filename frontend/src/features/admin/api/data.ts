import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { adminKeys, type FindingFilters, type Findings, type Release, type Runs, type Trend } from './keys';

export const RUNS_PAGE = 10;

export function useRuns(offset: number) {
  return useQuery({
    queryKey: adminKeys.runs(offset),
    queryFn: ({ signal }) => api.get<Runs>('/admin/ingest-runs', { limit: RUNS_PAGE, offset }, signal),
    placeholderData: keepPreviousData,
    // a run in progress: keep its status and duration current
    refetchInterval: (q) => (q.state.data?.data.some((r) => r.status === 'running') ? 2000 : false),
  });
}

export function useFindings(filters: FindingFilters) {
  return useQuery({
    queryKey: adminKeys.findings(filters),
    queryFn: ({ signal }) => api.get<Findings>('/admin/findings', { ...filters }, signal),
    placeholderData: keepPreviousData,
  });
}

export function useTrend(days: number) {
  return useQuery({
    queryKey: adminKeys.trend(days),
    queryFn: ({ signal }) => api.get<Trend>('/admin/findings/trend', { days }, signal),
  });
}

/** Release a quarantined row after review (the API records it in the audit log). */
export function useReleaseFinding() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, note }: { id: number; note?: string }) => api.post<Release>(`/admin/findings/${id}/release`, note ? { note } : {}),
    onSuccess: () => client.invalidateQueries({ queryKey: [...adminKeys.all, 'findings'] }),
  });
}
