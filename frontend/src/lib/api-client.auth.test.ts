import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, apiRequest, bootstrapSession, followOtherTabs, refreshSession } from './api-client';
import { hasSessionHint, sessionStore, setSession, EXPIRY_MARGIN_MS } from './session';
import { errorResponse, jsonResponse, tokenFixture } from '@/test/utils';

type Call = { url: string; method: string; auth: string | null; credentials: RequestCredentials | undefined };

/**
 * A fake server: /api/auth/refresh answers with `refreshes` in turn (a token name or a status), and
 * /api/data accepts exactly the tokens in `valid`.
 */
function fakeServer(opts: { refreshes: (string | number | Error)[]; valid: string[] }) {
  const calls: Call[] = [];
  const refreshes = [...opts.refreshes];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const call = { url: String(input), method: init?.method ?? 'GET', auth: headers.Authorization ?? null, credentials: init?.credentials };
    calls.push(call);
    if (call.url === '/api/auth/refresh') {
      const next = refreshes.shift();
      if (next === undefined) throw new Error('unexpected refresh');
      if (next instanceof Error) throw next;
      if (typeof next === 'number') return errorResponse(next, 'unauthorized', 'invalid or expired refresh token');
      return jsonResponse(tokenFixture({ token: next }));
    }
    if (call.url.startsWith('/api/data')) {
      const token = call.auth?.replace(/^Bearer /, '') ?? '';
      if (opts.valid.includes(token)) return jsonResponse({ ok: token });
      return errorResponse(401, 'unauthorized', 'invalid or expired access token', null, { 'WWW-Authenticate': 'Bearer' });
    }
    if (call.url === '/api/auth/login') return errorResponse(401, 'unauthorized', 'invalid email or password');
    return errorResponse(404, 'not_found', 'no route');
  });
  vi.stubGlobal('fetch', fetchMock);
  const refreshCalls = () => calls.filter((c) => c.url === '/api/auth/refresh').length;
  return { calls, refreshCalls };
}

function signIn(token = 'old', expiresIn = 3600) {
  setSession(tokenFixture({ token, expiresIn }));
}

describe('access token handling', () => {
  beforeEach(() => {
    localStorage.clear();
  });

  it('sends the access token as a Bearer header when signed in', async () => {
    const server = fakeServer({ refreshes: [], valid: ['old'] });
    signIn('old');
    await expect(apiRequest('/data')).resolves.toEqual({ ok: 'old' });
    expect(server.calls).toHaveLength(1);
    expect(server.calls[0]!.auth).toBe('Bearer old');
  });

  it('on a 401 refreshes once and retries the request once with the new token', async () => {
    const server = fakeServer({ refreshes: ['new'], valid: ['new'] });
    signIn('old');
    await expect(apiRequest('/data')).resolves.toEqual({ ok: 'new' });
    expect(server.calls.map((c) => [c.method, c.url, c.auth])).toEqual([
      ['GET', '/api/data', 'Bearer old'],
      ['POST', '/api/auth/refresh', null],
      ['GET', '/api/data', 'Bearer new'],
    ]);
    // the refresh token is an HttpOnly cookie: the refresh request must carry cookies
    expect(server.calls[1]!.credentials).toBe('same-origin');
    expect(sessionStore.getState().accessToken).toBe('new');
  });

  it('does not retry a second time when the retried request is refused too', async () => {
    const server = fakeServer({ refreshes: ['new'], valid: [] });
    signIn('old');
    const error = await apiRequest('/data').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect(server.calls).toHaveLength(3);
    expect(server.refreshCalls()).toBe(1);
  });

  it('signs out and rethrows the 401 when the refresh token is no longer valid', async () => {
    const server = fakeServer({ refreshes: [401], valid: [] });
    signIn('old');
    expect(hasSessionHint()).toBe(true);
    const error = (await apiRequest('/data').catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(401);
    expect(error.message).toBe('invalid or expired access token');
    expect(server.calls).toHaveLength(2); // no retry without a new token
    expect(sessionStore.getState()).toMatchObject({ status: 'anonymous', user: null, accessToken: null });
    expect(hasSessionHint()).toBe(false);
  });

  it('shares one refresh between concurrent requests that get 401s', async () => {
    const server = fakeServer({ refreshes: ['new'], valid: ['new'] });
    signIn('old');
    const results = await Promise.all([apiRequest('/data?a'), apiRequest('/data?b'), apiRequest('/data?c')]);
    expect(results).toEqual([{ ok: 'new' }, { ok: 'new' }, { ok: 'new' }]);
    expect(server.refreshCalls()).toBe(1);
  });

  it('refreshes before sending when the token is about to expire', async () => {
    const server = fakeServer({ refreshes: ['new'], valid: ['new'] });
    signIn('old', (EXPIRY_MARGIN_MS - 1000) / 1000); // inside the safety margin
    await expect(apiRequest('/data')).resolves.toEqual({ ok: 'new' });
    expect(server.calls.map((c) => c.url)).toEqual(['/api/auth/refresh', '/api/data']);
    expect(server.calls[1]!.auth).toBe('Bearer new');
  });

  it('does not try to refresh for an anonymous 401', async () => {
    const server = fakeServer({ refreshes: [], valid: [] });
    const error = (await apiRequest('/data').catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(401);
    expect(server.calls).toHaveLength(1);
    expect(server.calls[0]!.auth).toBeNull();
  });

  it('never refreshes for the auth routes themselves (a wrong password is just a 401)', async () => {
    const server = fakeServer({ refreshes: [], valid: [] });
    signIn('old');
    const error = (await apiRequest('/auth/login', { method: 'POST', body: { email: 'a@b.c', password: 'x' }, auth: false }).catch(
      (e: unknown) => e,
    )) as ApiError;
    expect(error.message).toBe('invalid email or password');
    expect(server.calls).toHaveLength(1);
    expect(server.calls[0]!.auth).toBeNull();
    expect(sessionStore.getState().status).toBe('authenticated');
  });

  it('reads Retry-After into the error', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn().mockResolvedValue(errorResponse(429, 'rate_limited', 'too many failed sign-in attempts; try again later', { retry_after: 30 }, { 'Retry-After': '42' })),
    );
    const error = (await apiRequest('/auth/login', { method: 'POST', body: {}, auth: false }).catch((e: unknown) => e)) as ApiError;
    expect(error.retryAfter).toBe(42);
  });

  it('falls back to the body for the wait when there is no Retry-After header', async () => {
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(errorResponse(429, 'rate_limited', 'slow down', { retry_after: 30 })));
    const error = (await apiRequest('/x').catch((e: unknown) => e)) as ApiError;
    expect(error.retryAfter).toBe(30);
  });
});

describe('silent refresh on load', () => {
  beforeEach(() => {
    localStorage.clear();
  });

  it('does nothing for a browser that never signed in (no doomed request)', async () => {
    const server = fakeServer({ refreshes: [], valid: [] });
    await expect(bootstrapSession()).resolves.toBe(false);
    expect(server.calls).toHaveLength(0);
    expect(sessionStore.getState().status).toBe('anonymous');
  });

  it('restores the session from the refresh cookie, and requests wait for it', async () => {
    const server = fakeServer({ refreshes: ['fresh'], valid: ['fresh'] });
    localStorage.setItem('stockscreen.signedIn', '1');
    const booting = bootstrapSession();
    expect(sessionStore.getState().status).toBe('unknown');
    const request = apiRequest('/data'); // issued while the refresh is in flight
    await expect(booting).resolves.toBe(true);
    await expect(request).resolves.toEqual({ ok: 'fresh' });
    expect(server.calls.map((c) => [c.url, c.auth])).toEqual([
      ['/api/auth/refresh', null],
      ['/api/data', 'Bearer fresh'],
    ]);
    expect(sessionStore.getState()).toMatchObject({ status: 'authenticated', user: { email: 'ada@example.com' } });
  });

  it('ends up anonymous, forgetting the hint, when the cookie is refused', async () => {
    fakeServer({ refreshes: [401], valid: [] });
    localStorage.setItem('stockscreen.signedIn', '1');
    await expect(bootstrapSession()).resolves.toBe(false);
    expect(sessionStore.getState().status).toBe('anonymous');
    expect(hasSessionHint()).toBe(false);
  });

  it('keeps the hint when the server cannot be reached, to try again next time', async () => {
    fakeServer({ refreshes: [new TypeError('Failed to fetch')], valid: [] });
    localStorage.setItem('stockscreen.signedIn', '1');
    await expect(refreshSession()).resolves.toBe(false);
    expect(sessionStore.getState().status).toBe('anonymous');
    expect(hasSessionHint()).toBe(true);
  });
});

describe('other tabs', () => {
  it('signing out elsewhere ends this session; signing in elsewhere picks the session up', async () => {
    const server = fakeServer({ refreshes: ['from-other-tab'], valid: [] });
    const stop = followOtherTabs();
    try {
      signIn('old');
      localStorage.removeItem('stockscreen.signedIn'); // what the other tab's sign-out does to shared storage
      window.dispatchEvent(new StorageEvent('storage', { key: 'stockscreen.signedIn', oldValue: '1', newValue: null }));
      expect(sessionStore.getState()).toMatchObject({ status: 'anonymous', accessToken: null });
      expect(server.calls).toHaveLength(0);

      localStorage.setItem('stockscreen.signedIn', '1');
      window.dispatchEvent(new StorageEvent('storage', { key: 'stockscreen.signedIn', oldValue: null, newValue: '1' }));
      await vi.waitFor(() => expect(sessionStore.getState().accessToken).toBe('from-other-tab'));
      expect(server.refreshCalls()).toBe(1);
    } finally {
      stop();
    }
  });
});
