import type { ApiErrorBody } from '@/types';
import {
  clearSession,
  HINT_KEY,
  hasSessionHint,
  markSessionPending,
  sessionStore,
  setSession,
  tokenIsStale,
  type TokenResponse,
} from './session';

/** Error thrown for any non-2xx response or network failure. Carries the uniform error body. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  readonly requestId: string | undefined;
  /** Seconds to wait before trying again (429s: `Retry-After`, or the body's `details.retry_after`). */
  readonly retryAfter: number | undefined;

  constructor(opts: {
    status: number;
    code: string;
    message: string;
    details?: unknown;
    requestId?: string;
    retryAfter?: number;
  }) {
    super(opts.message);
    this.name = 'ApiError';
    this.status = opts.status;
    this.code = opts.code;
    this.details = opts.details;
    this.requestId = opts.requestId;
    this.retryAfter = opts.retryAfter;
  }
}

function retryAfterOf(response: Response, details: unknown): number | undefined {
  const header = Number(response.headers.get('Retry-After'));
  if (Number.isFinite(header) && header > 0) return header;
  const fromBody = typeof details === 'object' && details !== null ? (details as { retry_after?: unknown }).retry_after : undefined;
  return typeof fromBody === 'number' && fromBody > 0 ? fromBody : undefined;
}

export function isApiErrorBody(value: unknown): value is ApiErrorBody {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const err = (value as { error: unknown }).error;
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { message?: unknown }).message === 'string' &&
    typeof (err as { code?: unknown }).code === 'string'
  );
}

type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Send the access token and refresh it on expiry or a 401 (default). The auth routes themselves pass false. */
  auth?: boolean;
}

export const API_BASE = '/api';

export function buildUrl(path: string, query?: Query): string {
  const url = `${API_BASE}${path.startsWith('/') ? path : `/${path}`}`;
  if (!query) return url;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${url}?${qs}` : url;
}

/** One HTTP exchange: JSON in, JSON out, any non-2xx as an ApiError. No credentials logic. */
async function send<T>(path: string, opts: RequestOptions, token: string | null): Promise<T> {
  const { method = 'GET', query, body, signal } = opts;
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;

  let response: Response;
  try {
    response = await fetch(buildUrl(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      // Same origin: the refresh-token cookie (HttpOnly, Path=/api/auth) goes with the auth calls.
      credentials: 'same-origin',
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
    throw new ApiError({
      status: 0,
      code: 'network_error',
      message: 'Could not reach the Stockscreen server. Check your connection and try again.',
      details: cause instanceof Error ? cause.message : cause,
    });
  }

  const text = await response.text();
  let payload: unknown = undefined;
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = undefined;
    }
  }

  if (!response.ok) {
    if (isApiErrorBody(payload)) {
      const { code, message, details, request_id } = payload.error;
      throw new ApiError({
        status: response.status,
        code,
        message,
        details,
        requestId: request_id,
        retryAfter: retryAfterOf(response, details),
      });
    }
    throw new ApiError({
      status: response.status,
      code: `http_${response.status}`,
      message: `Request failed with status ${response.status}${response.statusText ? ` (${response.statusText})` : ''}.`,
      details: text ? text.slice(0, 500) : undefined,
      retryAfter: retryAfterOf(response, undefined),
    });
  }

  if (response.status === 204) return undefined as T;
  if (payload === undefined) {
    throw new ApiError({
      status: response.status,
      code: 'invalid_response',
      message: 'The server returned an invalid response.',
    });
  }
  return payload as T;
}

let refreshing: Promise<boolean> | null = null;

/** Serialise refreshes across tabs: the refresh token rotates, and presenting a spent one ends the session. */
async function withRefreshLock(fn: () => Promise<boolean>): Promise<boolean> {
  const locks = typeof navigator !== 'undefined' ? (navigator as Partial<Navigator>).locks : undefined;
  if (!locks) return fn();
  let result = false;
  await locks.request('stockscreen-auth-refresh', async () => {
    result = await fn();
  });
  return result;
}

async function doRefresh(): Promise<boolean> {
  try {
    setSession(await send<TokenResponse>('/auth/refresh', { method: 'POST' }, null));
    return true;
  } catch (error) {
    // 401: no cookie, or it expired or was revoked: signed out. Anything else (offline, 5xx): unknown,
    // so keep the hint and try again on the next load.
    clearSession({ keepHint: !(error instanceof ApiError && error.status === 401) });
    return false;
  }
}

/**
 * Exchange the refresh-token cookie for a new access token. Concurrent callers share one request.
 * Resolves true when signed in afterwards.
 */
export function refreshSession(): Promise<boolean> {
  refreshing ??= withRefreshLock(doRefresh).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** On app load: a silent refresh when this browser has a session, so a reload keeps it. */
export function bootstrapSession(): Promise<boolean> {
  if (sessionStore.getState().status !== 'anonymous' || !hasSessionHint()) {
    return Promise.resolve(sessionStore.getState().status === 'authenticated');
  }
  markSessionPending();
  return refreshSession();
}

/**
 * Keep tabs in step: signing out in one tab ends the session in the others at once (their access
 * tokens would otherwise live on for up to an hour); signing in in one lets the others pick it up.
 * Returns the unsubscribe function.
 */
export function followOtherTabs(target: Window = window): () => void {
  const onStorage = (event: StorageEvent) => {
    if (event.key !== HINT_KEY && event.key !== null) return;
    const signedIn = hasSessionHint();
    const status = sessionStore.getState().status;
    if (!signedIn && status === 'authenticated') clearSession({ keepHint: true });
    else if (signedIn && status === 'anonymous') void refreshSession();
  };
  target.addEventListener('storage', onStorage);
  return () => target.removeEventListener('storage', onStorage);
}

/**
 * The single fetch wrapper used by every feature's API module. Signed in, it sends the access token,
 * refreshes it first when it is about to expire, and on a 401 refreshes once and retries once.
 */
export async function apiRequest<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  if (opts.auth === false) return send<T>(path, opts, null);
  if (refreshing) await refreshing; // e.g. the silent refresh on load: wait rather than go out anonymous
  if (tokenIsStale(sessionStore.getState())) await refreshSession();
  const token = sessionStore.getState().accessToken;
  try {
    return await send<T>(path, opts, token);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401 || token === null) throw error;
    // Another request may already have refreshed while this one was in flight.
    const fresh = sessionStore.getState().accessToken !== token || (await refreshSession());
    const next = sessionStore.getState().accessToken;
    if (!fresh || next === null) throw error;
    return send<T>(path, opts, next);
  }
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => apiRequest<T>(path, { query, signal }),
  post: <T>(path: string, body?: unknown, signal?: AbortSignal) => apiRequest<T>(path, { method: 'POST', body, signal }),
  put: <T>(path: string, body: unknown) => apiRequest<T>(path, { method: 'PUT', body }),
  patch: <T>(path: string, body: unknown) => apiRequest<T>(path, { method: 'PATCH', body }),
  delete: (path: string) => apiRequest<void>(path, { method: 'DELETE' }),
};

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}
