import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import type { components } from '@/types/openapi';
import type { AlertOptionsPatchBody } from '../model/options';
import { alertKeys, alertPath, type Alert } from './keys';

/**
 * Only the fields sent change; `name: null` clears the name; within `options` too, a field left out is kept
 * (`snoozed_until: null` ends a snooze). Resuming over the quota is refused.
 */
export type AlertPatch = Partial<Omit<components['schemas']['AlertUpdate'], 'options'>> & { options?: AlertOptionsPatchBody };

export function updateAlert({ id, patch }: { id: string; patch: AlertPatch }): Promise<Alert> {
  return api.patch<Alert>(alertPath(id), patch);
}

export function useUpdateAlert() {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: updateAlert, onSuccess: () => queryClient.invalidateQueries({ queryKey: alertKeys.all }) });
}
