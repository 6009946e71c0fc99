import { useStore } from 'zustand';
import { createStore } from 'zustand/vanilla';
import type { components } from '@/types/openapi';

export type User = components['schemas']['UserPublic'];
export type TokenResponse = components['schemas']['TokenPublic'];

/** `unknown` while the silent refresh on load is in flight. */
export type SessionStatus = 'unknown' | 'anonymous' | 'authenticated';

export interface SessionState {
  status: SessionStatus;
  user: User | null;
  /** The access token (JWT). Kept in memory only: a reload gets a new one from the refresh cookie. */
  accessToken: string | null;
  /** Epoch milliseconds at which the access token expires. */
  expiresAt: number;
}

/**
 * A hint, not a credential: "this browser signed in and has not signed out". The refresh token is an
 * HttpOnly cookie that scripts cannot see, so without the hint every anonymous visit would start with a
 * refresh request that is bound to fail (a 401 in the console). The token itself never leaves memory.
 */
export const HINT_KEY = 'stockscreen.signedIn';

function readHint(): boolean {
  try {
    return globalThis.localStorage?.getItem(HINT_KEY) === '1';
  } catch {
    return false;
  }
}

function writeHint(on: boolean): void {
  try {
    if (on) globalThis.localStorage?.setItem(HINT_KEY, '1');
    else globalThis.localStorage?.removeItem(HINT_KEY);
  } catch {
    /* storage disabled: the session simply does not survive a reload */
  }
}

export function hasSessionHint(): boolean {
  return readHint();
}

const anonymous: SessionState = { status: 'anonymous', user: null, accessToken: null, expiresAt: 0 };

export const sessionStore = createStore<SessionState>()(() => ({ ...anonymous }));

export function setSession(token: TokenResponse, now = Date.now()): void {
  writeHint(true);
  sessionStore.setState({
    status: 'authenticated',
    user: token.user,
    accessToken: token.access_token,
    expiresAt: now + token.expires_in * 1000,
  });
}

/** Forget the session. `keepHint` when the server could not be reached (the cookie may still be good). */
export function clearSession({ keepHint = false }: { keepHint?: boolean } = {}): void {
  if (!keepHint) writeHint(false);
  sessionStore.setState({ ...anonymous });
}

export function markSessionPending(): void {
  sessionStore.setState({ ...anonymous, status: 'unknown' });
}

/** Refresh this long before the access token's expiry, so a request never leaves with a dying token. */
export const EXPIRY_MARGIN_MS = 30_000;

export function tokenIsStale(state: SessionState, now = Date.now()): boolean {
  return state.accessToken !== null && now >= state.expiresAt - EXPIRY_MARGIN_MS;
}

export function useSession<T>(selector: (s: SessionState) => T): T {
  return useStore(sessionStore, selector);
}
