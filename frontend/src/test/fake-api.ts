import { vi } from 'vitest';
import { fieldsFixture, presetsFixture } from './fixtures';
import { errorResponse, jsonResponse } from './utils';

export interface SentRequest {
  method: string;
  /** Path and query, e.g. "/api/watchlists?limit=100". */
  url: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  auth: string | null;
}

export type Route = (req: SentRequest) => Response | undefined | Promise<Response | undefined>;

/**
 * Stub `fetch` with an in-memory API: each route answers a request or passes (undefined); anything
 * unanswered is the API's uniform 404. Returns the requests sent, for assertions.
 */
export function fakeApi(...routes: Route[]) {
  const sent: SentRequest[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const parsed = new URL(url, 'http://localhost');
    const req: SentRequest = {
      method: init?.method ?? 'GET',
      url,
      path: parsed.pathname,
      query: parsed.searchParams,
      // JSON bodies parsed; anything else (a FormData upload) as it was sent
      body: typeof init?.body === 'string' ? JSON.parse(init.body) : (init?.body ?? undefined),
      auth: ((init?.headers ?? {}) as Record<string, string>).Authorization ?? null,
    };
    sent.push(req);
    for (const route of routes) {
      const res = await route(req);
      if (res) return res;
    }
    return errorResponse(404, 'not_found', `no route ${req.method} ${req.path}`);
  });
  vi.stubGlobal('fetch', fetchMock);
  return {
    sent,
    /** The requests that change something. */
    writes: () => sent.filter((s) => s.method !== 'GET'),
  };
}

export const noContent = () => new Response(null, { status: 204 });

/** The screener's catalogue as the API serves it: the fields and the presets (fixtures). */
export const screenerCatalogue: Route = (req) => {
  if (req.method !== 'GET') return undefined;
  if (req.path === '/api/screener/fields') return jsonResponse(fieldsFixture);
  if (req.path === '/api/screens/presets') return jsonResponse(presetsFixture);
  return undefined;
};
