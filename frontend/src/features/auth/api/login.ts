import { useMutation } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import { setSession, type TokenResponse } from '@/lib/session';
import type { components } from '@/types/openapi';

export type LoginInput = components['schemas']['LoginBody'];

/** Sign in; the server sets the refresh-token cookie, the access token stays in memory. */
export async function login(input: LoginInput): Promise<TokenResponse> {
  const session = await apiRequest<TokenResponse>('/auth/login', { method: 'POST', body: input, auth: false });
  setSession(session);
  return session;
}

export function useLogin() {
  return useMutation({ mutationFn: login });
}
