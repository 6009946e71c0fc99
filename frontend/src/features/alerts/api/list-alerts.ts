import { queryOptions, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import { alertKeys, type Alerts } from './keys';

/** Premium's quota is 30 active alerts; one page of 100 shows them with room for paused ones. */
export function listAlerts(signal?: AbortSignal): Promise<Alerts> {
  return api.get<Alerts>('/alerts', { limit: 100 }, signal);
}

export function listAlertsQueryOptions(userId: string) {
  return queryOptions({ queryKey: alertKeys.list(userId), queryFn: ({ signal }) => listAlerts(signal), staleTime: 30_000 });
}

export function useAlerts() {
  const userId = useSession((s) => s.user?.id ?? '');
  return useQuery({ ...listAlertsQueryOptions(userId), enabled: userId !== '' });
}
