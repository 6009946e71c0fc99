import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import type { NotificationPreferences, NotificationPreferencesUpdate, WebhookSecret } from '../preferences-types';
import { alertKeys, PREFERENCES_PATH } from './keys';

export function getPreferences(signal?: AbortSignal): Promise<NotificationPreferences> {
  return api.get<NotificationPreferences>(PREFERENCES_PATH, undefined, signal);
}

export function usePreferences() {
  const userId = useSession((s) => s.user?.id ?? '');
  return useQuery({ queryKey: alertKeys.preferences(userId), queryFn: ({ signal }) => getPreferences(signal), enabled: userId !== '' });
}

export function putPreferences(body: NotificationPreferencesUpdate): Promise<NotificationPreferences> {
  return api.put<NotificationPreferences>(PREFERENCES_PATH, body);
}

export function useSavePreferences() {
  const queryClient = useQueryClient();
  const userId = useSession((s) => s.user?.id ?? '');
  return useMutation({ mutationFn: putPreferences, onSuccess: (saved) => queryClient.setQueryData(alertKeys.preferences(userId), saved) });
}

/** A new webhook signing secret (the old one stops working); the response is the only time it is shown. */
export function rotateWebhookSecret(): Promise<WebhookSecret> {
  return api.post<WebhookSecret>(`${PREFERENCES_PATH}/webhook-secret`);
}

export function useRotateWebhookSecret() {
  const queryClient = useQueryClient();
  const userId = useSession((s) => s.user?.id ?? '');
  return useMutation({ mutationFn: rotateWebhookSecret, onSuccess: () => queryClient.invalidateQueries({ queryKey: alertKeys.preferences(userId) }) });
}
