import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import type { components } from '@/types/openapi';
import { alertKeys, alertPath, type Alert } from './keys';

/** Only the fields sent change; `name: null` clears the name. Resuming over the quota is refused. */
export type AlertPatch = Partial<components['schemas']['AlertUpdate']>;

export function updateAlert({ id, patch }: { id: string; patch: AlertPatch }): Promise<Alert> {
  return api.patch<Alert>(alertPath(id), patch);
}

export function useUpdateAlert() {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: updateAlert, onSuccess: () => queryClient.invalidateQueries({ queryKey: alertKeys.all }) });
}
