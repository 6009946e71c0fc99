import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import type { components } from '@/types/openapi';
import type { AlertOptionsBody } from '../model/options';
import { alertKeys, type Alert } from './keys';

/** The create body; `options` with the per-alert cooldown (null: the server's defaults). */
export type AlertCreate = Omit<components['schemas']['AlertCreate'], 'options'> & { options: AlertOptionsBody | null };

/** Create an alert; an active one over the plan's quota is refused (403 with the limit). */
export function createAlert(body: AlertCreate): Promise<Alert> {
  return api.post<Alert>('/alerts', body);
}

export function useCreateAlert() {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: createAlert, onSuccess: () => queryClient.invalidateQueries({ queryKey: alertKeys.all }) });
}
