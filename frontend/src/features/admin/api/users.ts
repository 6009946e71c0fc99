import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { adminKeys, type AdminUser, type AdminUsers, type AuditEntries } from './keys';

export const USERS_PAGE = 20;
export const AUDIT_PAGE = 25;

export function useUsers(q: string, offset: number) {
  return useQuery({
    queryKey: adminKeys.users(q, offset),
    queryFn: ({ signal }) => api.get<AdminUsers>('/admin/users', { q: q || undefined, limit: USERS_PAGE, offset }, signal),
    placeholderData: keepPreviousData,
  });
}

export function useUpdateUser() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...change }: { id: string; role?: AdminUser['role']; disabled?: boolean }) => api.patch<AdminUser>(`/admin/users/${id}`, change),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: [...adminKeys.all, 'users'] });
      void client.invalidateQueries({ queryKey: [...adminKeys.all, 'audit'] });
    },
  });
}

export function useAudit(action: string, offset: number) {
  return useQuery({
    queryKey: adminKeys.audit(action, offset),
    queryFn: ({ signal }) => api.get<AuditEntries>('/admin/audit', { action: action || undefined, limit: AUDIT_PAGE, offset }, signal),
    placeholderData: keepPreviousData,
  });
}
