import { screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AppLayout } from '@/components/layout/app-layout';
import { clearSession, setSession } from '@/lib/session';
import { fakeApi } from '@/test/fake-api';
import { jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';
import { AdminArea } from './admin-area';
import { run, RUN_A } from './fixtures';

const adminApi = () =>
  fakeApi((req) => {
    if (req.path === '/api/admin/ingest-runs') return jsonResponse({ data: [run(RUN_A)], count: 1 });
    if (req.path === '/api/admin/findings') return jsonResponse({ data: [], count: 0 });
    if (req.path === '/api/admin/findings/trend') return jsonResponse({ data: [] });
    if (req.path === '/api/notifications') return jsonResponse({ data: [], count: 0, unread: 0 });
    return undefined;
  });

describe('the admin area', () => {
  beforeEach(() => {
    clearSession();
    vi.stubGlobal('scrollTo', vi.fn()); // the layout's ScrollRestoration (jsdom has none)
  });

  it.each(['free', 'premium'])('is hidden from the nav and refused to a %s user, who sends no admin request', async (role) => {
    setSession(tokenFixture({ role }));
    const api = adminApi();
    renderWithProviders(<AppLayout />, { path: '/' });
    expect(await screen.findByRole('link', { name: 'Screener' })).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'Admin' })).not.toBeInTheDocument();
    renderWithProviders(<AdminArea />, { path: '/admin/*', route: '/admin/data' });
    expect(await screen.findByText('Admins only')).toBeInTheDocument();
    expect(api.sent.filter((s) => s.path.startsWith('/api/admin'))).toEqual([]);
  });

  it('asks an anonymous visitor to sign in', async () => {
    clearSession();
    adminApi();
    renderWithProviders(<AdminArea />, { path: '/admin/*', route: '/admin/data' });
    expect(await screen.findByText('Sign in as an administrator')).toBeInTheDocument();
  });

  it('shows admins the nav link and the Data, Users, Audit log and Operations tabs', async () => {
    setSession(tokenFixture({ role: 'admin' }));
    adminApi();
    renderWithProviders(<AppLayout />, { path: '/' });
    expect(await screen.findByRole('link', { name: 'Admin' })).toHaveAttribute('href', '/admin');
    renderWithProviders(<AdminArea />, { path: '/admin/*', route: '/admin' });
    const tabs = await screen.findByRole('navigation', { name: 'Admin' });
    expect(within(tabs).getAllByRole('link').map((a) => a.textContent)).toEqual(['Data', 'Users', 'Audit log', 'Operations']);
    expect(await screen.findByTestId(`run-${RUN_A}`)).toBeInTheDocument(); // /admin opens Data
  });
});
