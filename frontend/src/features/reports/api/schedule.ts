import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { reportKeys, type ReportSchedule } from './keys';

export function getReportSchedule(signal?: AbortSignal): Promise<ReportSchedule> {
  return api.get<ReportSchedule>('/reports/schedule', undefined, signal);
}

export function reportScheduleQueryOptions(userId: string) {
  return queryOptions({ queryKey: reportKeys.schedule(userId), queryFn: ({ signal }) => getReportSchedule(signal) });
}

export function useReportSchedule() {
  const userId = useSession((s) => s.user?.id ?? '');
  return useQuery({ ...reportScheduleQueryOptions(userId), enabled: userId !== '' });
}

export function saveReportSchedule(schedule: ReportSchedule): Promise<ReportSchedule> {
  return api.put<ReportSchedule>('/reports/schedule', schedule);
}

export function useSaveReportSchedule() {
  const queryClient = useQueryClient();
  const userId = useSession((s) => s.user?.id ?? '');
  return useMutation({
    mutationFn: saveReportSchedule,
    onSuccess: (saved) => queryClient.setQueryData(reportKeys.schedule(userId), saved),
  });
}
