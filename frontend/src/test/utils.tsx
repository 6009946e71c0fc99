import { QueryClient } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { createMemoryRouter, RouterProvider, type RouteObject } from 'react-router-dom';
import { AppProvider } from '@/app/provider';

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

export function createTestQueryClient(): QueryClient {
  return new QueryClient({ defaultOptions: { queries: { retry: false, gcTime: Infinity } } });
}

export function renderWithProviders(
  ui: ReactElement,
  { path = '/', route = '/', routes = [] }: { path?: string; route?: string; routes?: RouteObject[] } = {},
) {
  const router = createMemoryRouter(
    [
      { path, element: ui },
      { path: '/stocks/:symbol', element: <div data-testid="stock-page">stock page</div> },
      ...routes,
    ],
    { initialEntries: [route] },
  );
  const client = createTestQueryClient();
  return {
    router,
    client,
    ...render(
      <AppProvider client={client}>
        <RouterProvider router={router} />
      </AppProvider>,
    ),
  };
}

/** A signed-in session for component tests (the token is opaque to the SPA). */
export function tokenFixture(overrides: { role?: string; email?: string; expiresIn?: number; token?: string } = {}) {
  return {
    access_token: overrides.token ?? 'access-1',
    token_type: 'Bearer',
    expires_in: overrides.expiresIn ?? 3600,
    user: {
      id: '00000000-0000-4000-8000-000000000001',
      email: overrides.email ?? 'ada@example.com',
      display_name: null,
      role: overrides.role ?? 'free',
      disabled: false,
      created_at: '2024-01-01T00:00:00+00:00',
      last_login_at: null,
    },
  };
}

export function errorResponse(status: number, code: string, message: string, details: unknown = null, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify({ error: { code, message, details, request_id: `req-${status}` } }), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}
