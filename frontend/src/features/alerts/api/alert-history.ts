import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { alertKeys, alertPath, type AlertEvents } from './keys';

/** When one alert fired, newest first: the values, the explanation, each channel's delivery status. */
export function getAlertHistory(alertId: string, page: { limit: number; offset: number }, signal?: AbortSignal): Promise<AlertEvents> {
  return api.get<AlertEvents>(`${alertPath(alertId)}/history`, page, signal);
}

export function alertHistoryQueryOptions(userId: string, alertId: string, page: { limit: number; offset: number }) {
  return queryOptions({
    queryKey: alertKeys.history(userId, alertId, page),
    queryFn: ({ signal }) => getAlertHistory(alertId, page, signal),
    staleTime: 15_000,
    placeholderData: keepPreviousData,
  });
}

export function useAlertHistory(alertId: string | null, page: { limit: number; offset: number }) {
  const userId = useSession((s) => s.user?.id ?? '');
  return useQuery({ ...alertHistoryQueryOptions(userId, alertId ?? '', page), enabled: userId !== '' && alertId !== null });
}
