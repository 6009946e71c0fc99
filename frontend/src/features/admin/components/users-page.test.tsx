import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { ToastOutlet } from '@/components/ui/toast-store';
import { setSession } from '@/lib/session';
import { fakeApi } from '@/test/fake-api';
import { errorResponse, jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';
import type { AdminUser } from '../api/keys';
import { user } from './fixtures';
import { UsersPage } from './users-page';

function usersApi() {
  const state = { users: [user('ada@example.com'), user('bob@example.com', { role: 'premium' }), user('cy@example.org', { disabled: true })] as AdminUser[] };
  const api = fakeApi((req) => {
    if (req.path === '/api/admin/users' && req.method === 'GET') {
      const q = req.query.get('q')?.toLowerCase();
      const rows = q ? state.users.filter((u) => u.email.startsWith(q)) : state.users;
      return jsonResponse({ data: rows, count: rows.length });
    }
    const target = state.users.find((u) => req.path === `/api/admin/users/${u.id}`);
    if (target && req.method === 'PATCH') {
      const change = req.body as Partial<AdminUser>;
      if (change.role === 'god') return errorResponse(400, 'invalid', 'role is free, premium or admin');
      Object.assign(target, change);
      return jsonResponse(target);
    }
    return undefined;
  });
  return { ...api, state };
}

describe('admin users page', () => {
  beforeEach(() => {
    setSession(tokenFixture({ role: 'admin' }));
  });

  it('searches users by email or name', async () => {
    const api = usersApi();
    renderWithProviders(<UsersPage />);
    expect(await screen.findByTestId('user-cy@example.org')).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('Search users'), 'bo');
    await waitFor(() => expect(screen.queryByTestId('user-ada@example.com')).not.toBeInTheDocument());
    expect(screen.getByTestId('user-bob@example.com')).toBeInTheDocument();
    expect(api.sent.at(-1)!.query.get('q')).toBe('bo');
    await userEvent.type(screen.getByLabelText('Search users'), 'x');
    expect(await screen.findByText('No user matches.')).toBeInTheDocument();
  });

  it('changes a role and disables an account, each through the admin API', async () => {
    const api = usersApi();
    renderWithProviders(
      <>
        <UsersPage />
        <ToastOutlet />
      </>,
    );
    const ada = await screen.findByTestId('user-ada@example.com');
    await userEvent.selectOptions(within(ada).getByLabelText('Role of ada@example.com'), 'premium');
    expect(await screen.findByText('ada@example.com: now premium', {}, { timeout: 5000 })).toBeInTheDocument();
    await userEvent.click(within(ada).getByRole('button', { name: 'Disable' }));
    await waitFor(() => expect(within(screen.getByTestId('user-ada@example.com')).getByText('disabled')).toBeInTheDocument());
    await userEvent.click(within(screen.getByTestId('user-cy@example.org')).getByRole('button', { name: 'Enable' }));
    await waitFor(() => expect(within(screen.getByTestId('user-cy@example.org')).getByText('active')).toBeInTheDocument());
    const writes = api.writes().map((w) => [w.method, w.path.split('/').slice(0, 4).join('/'), w.body]);
    expect(writes).toEqual([
      ['PATCH', '/api/admin/users', { role: 'premium' }],
      ['PATCH', '/api/admin/users', { disabled: true }],
      ['PATCH', '/api/admin/users', { disabled: false }],
    ]);
  });

  it('never offers to demote or disable the signed-in admin', async () => {
    usersApi().state.users.push(user('me@example.com', { id: tokenFixture().user.id, role: 'admin' }));
    renderWithProviders(<UsersPage />);
    const me = await screen.findByTestId('user-me@example.com');
    expect(within(me).getByLabelText('Role of me@example.com')).toBeDisabled();
    expect(within(me).queryByRole('button', { name: 'Disable' })).not.toBeInTheDocument();
  });
});
