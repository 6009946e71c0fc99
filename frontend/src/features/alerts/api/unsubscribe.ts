import { useMutation } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { components } from '@/types/openapi';

export type Unsubscribed = components['schemas']['UnsubscribePublic'];

/** One-click unsubscribe from an alert's emails: the signed token is the credential (no sign-in). */
export function unsubscribe(token: string): Promise<Unsubscribed> {
  return apiRequest<Unsubscribed>('/alerts/unsubscribe', { method: 'POST', query: { token }, auth: false });
}

export function useUnsubscribe() {
  return useMutation({ mutationFn: unsubscribe });
}
