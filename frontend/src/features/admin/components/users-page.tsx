import { useState } from 'react';
import { DataTable, type Column } from '@/components/ui/data-table';
import { toast } from '@/components/ui/toast-store';
import { errorMessage } from '@/lib/api-client';
import { useSession } from '@/lib/session';
import type { AdminUser } from '../api/keys';
import { USERS_PAGE, useUpdateUser, useUsers } from '../api/users';

const ROLES: AdminUser['role'][] = ['free', 'premium', 'admin'];

/** Users: search by email or name, change a role, disable or enable an account (each change audited). */
export function UsersPage() {
  const [q, setQ] = useState('');
  const [offset, setOffset] = useState(0);
  const users = useUsers(q.trim(), offset);
  const update = useUpdateUser();
  const me = useSession((s) => s.user?.id);
  const change = (u: AdminUser, patch: { role?: AdminUser['role']; disabled?: boolean }) =>
    update.mutate(
      { id: u.id, ...patch },
      {
        onSuccess: (saved) => toast({ title: `${saved.email}: ${patch.role ? `now ${saved.role}` : saved.disabled ? 'disabled' : 'enabled'}`, tone: 'success' }),
        onError: (e) => toast({ title: errorMessage(e), tone: 'error' }),
      },
    );
  const columns: Column<AdminUser>[] = [
    { id: 'email', header: 'Email', className: 'text-slate-200', cell: (u) => u.email },
    { id: 'name', header: 'Name', className: 'text-slate-400', cell: (u) => u.display_name ?? '—' },
    {
      id: 'role',
      header: 'Role',
      cell: (u) => (
        <select
          aria-label={`Role of ${u.email}`}
          className="select h-7"
          value={u.role}
          disabled={u.id === me || update.isPending}
          onChange={(e) => change(u, { role: e.target.value as AdminUser['role'] })}
        >
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      ),
    },
    { id: 'status', header: 'Status', className: (u) => (u.disabled ? 'text-rose-300' : 'text-emerald-300'), cell: (u) => (u.disabled ? 'disabled' : 'active') },
    { id: 'joined', header: 'Joined', className: 'text-slate-500', cell: (u) => u.created_at.slice(0, 10) },
    {
      id: 'actions',
      className: 'text-right',
      cell: (u) =>
        u.id !== me && (
          <button type="button" className="btn-secondary h-7 px-2 text-xs" disabled={update.isPending} onClick={() => change(u, { disabled: !u.disabled })}>
            {u.disabled ? 'Enable' : 'Disable'}
          </button>
        ),
    },
  ];
  return (
    <section aria-labelledby="users-heading" className="card">
      <div className="flex flex-wrap items-center gap-3 border-b border-slate-800 px-3 py-2">
        <h1 id="users-heading" className="text-base font-semibold text-slate-100">
          Users
        </h1>
        <input
          type="search"
          aria-label="Search users"
          placeholder="Email or name…"
          className="input h-8 w-64"
          value={q}
          onChange={(e) => {
            setQ(e.target.value);
            setOffset(0);
          }}
        />
        {users.data && <span className="text-xs text-slate-500">{users.data.count} user(s)</span>}
      </div>
      <DataTable
        query={users}
        columns={columns}
        rowKey={(u) => u.id}
        rowTestId={(u) => `user-${u.email}`}
        empty="No user matches."
        onRetry={() => void users.refetch()}
        paging={{ offset, pageSize: USERS_PAGE, onOffset: setOffset }}
      />
    </section>
  );
}
