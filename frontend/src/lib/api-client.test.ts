import { describe, expect, it, vi } from 'vitest';
import { ApiError, apiRequest, buildUrl, errorMessage } from './api-client';
import { jsonResponse } from '@/test/utils';

describe('apiRequest', () => {
  it('returns parsed JSON on success and sends JSON bodies', async () => {
    const fetchMock = vi.fn().mockResolvedValue(jsonResponse({ data: [1, 2], count: 2 }));
    vi.stubGlobal('fetch', fetchMock);
    const body = { filters: [], limit: 50, offset: 0 };
    await expect(apiRequest('/screens/run', { method: 'POST', body })).resolves.toEqual({ data: [1, 2], count: 2 });
    const [url, init] = fetchMock.mock.calls[0] as [string, RequestInit];
    expect(url).toBe('/api/screens/run');
    expect(init.method).toBe('POST');
    expect(init.body).toBe(JSON.stringify(body));
    expect((init.headers as Record<string, string>)['Content-Type']).toBe('application/json');
  });

  it('throws an ApiError carrying the uniform error body', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn().mockResolvedValue(
        jsonResponse(
          { error: { code: 'invalid_filter', message: 'Unknown field "foo"', details: { field: 'foo' }, request_id: 'req-123' } },
          422,
        ),
      ),
    );
    const error = await apiRequest('/screens/run', { method: 'POST', body: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.status).toBe(422);
    expect(apiError.code).toBe('invalid_filter');
    expect(apiError.message).toBe('Unknown field "foo"');
    expect(apiError.details).toEqual({ field: 'foo' });
    expect(apiError.requestId).toBe('req-123');
    expect(errorMessage(apiError)).toBe('Unknown field "foo"');
  });

  it('falls back to a generic message for non-JSON error bodies', async () => {
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })));
    const error = (await apiRequest('/health').catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(502);
    expect(error.code).toBe('http_502');
    expect(error.message).toContain('502');
  });

  it('maps network failures to an ApiError with status 0', async () => {
    vi.stubGlobal('fetch', vi.fn().mockRejectedValue(new TypeError('Failed to fetch')));
    const error = (await apiRequest('/health').catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(0);
    expect(error.code).toBe('network_error');
  });

  it('rejects a 200 with an unparsable body', async () => {
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(new Response('not json', { status: 200 })));
    const error = (await apiRequest('/health').catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe('invalid_response');
  });
});

describe('buildUrl', () => {
  it('encodes query params and skips empty ones', () => {
    expect(buildUrl('/securities', { q: 'A&B', limit: 10, from: undefined, to: '' })).toBe('/api/securities?q=A%26B&limit=10');
    expect(buildUrl('health')).toBe('/api/health');
  });
});
