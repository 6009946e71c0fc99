import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { alertKeys, alertPath } from './keys';

export function deleteAlert(id: string): Promise<void> {
  return api.delete(alertPath(id));
}

export function useDeleteAlert() {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: deleteAlert, onSuccess: () => queryClient.invalidateQueries({ queryKey: alertKeys.all }) });
}
