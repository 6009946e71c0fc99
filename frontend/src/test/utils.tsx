import { QueryClient } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { createMemoryRouter, RouterProvider } from 'react-router-dom';
import { AppProvider } from '@/app/provider';

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

export function createTestQueryClient(): QueryClient {
  return new QueryClient({ defaultOptions: { queries: { retry: false, gcTime: Infinity } } });
}

export function renderWithProviders(ui: ReactElement, { path = '/', route = '/' }: { path?: string; route?: string } = {}) {
  const router = createMemoryRouter(
    [
      { path, element: ui },
      { path: '/stocks/:symbol', element: <div data-testid="stock-page">stock page</div> },
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
