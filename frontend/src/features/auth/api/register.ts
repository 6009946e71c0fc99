import { useMutation } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import { setSession, type TokenResponse } from '@/lib/session';
import type { components } from '@/types/openapi';

export type RegisterInput = Pick<components['schemas']['RegisterBody'], 'email' | 'password'> & {
  display_name?: string | null;
};

/** Create a (free) account and sign in. */
export async function register(input: RegisterInput): Promise<TokenResponse> {
  const session = await apiRequest<TokenResponse>('/auth/register', { method: 'POST', body: input, auth: false });
  setSession(session);
  return session;
}

export function useRegister() {
  return useMutation({ mutationFn: register });
}
