import { useState } from 'react';
import { ErrorAlert } from '@/components/ui/error-alert';
import { OffsetPager } from '@/components/ui/offset-pager';
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
      {users.isError && <ErrorAlert error={users.error} onRetry={() => void users.refetch()} />}
      <table className="w-full text-sm">
        <thead className="text-left text-xs text-slate-500">
          <tr>
            <th className="px-3 py-2">Email</th>
            <th className="px-3 py-2">Name</th>
            <th className="px-3 py-2">Role</th>
            <th className="px-3 py-2">Status</th>
            <th className="px-3 py-2">Joined</th>
            <th className="px-3 py-2" />
          </tr>
        </thead>
        <tbody>
          {(users.data?.data ?? []).map((u) => (
            <tr key={u.id} className="border-t border-slate-800/70" data-testid={`user-${u.email}`}>
              <td className="px-3 py-1.5 text-slate-200">{u.email}</td>
              <td className="px-3 py-1.5 text-slate-400">{u.display_name ?? '—'}</td>
              <td className="px-3 py-1.5">
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
              </td>
              <td className={u.disabled ? 'px-3 py-1.5 text-rose-300' : 'px-3 py-1.5 text-emerald-300'}>{u.disabled ? 'disabled' : 'active'}</td>
              <td className="px-3 py-1.5 text-slate-500">{u.created_at.slice(0, 10)}</td>
              <td className="px-3 py-1.5 text-right">
                {u.id !== me && (
                  <button type="button" className="btn-secondary h-7 px-2 text-xs" disabled={update.isPending} onClick={() => change(u, { disabled: !u.disabled })}>
                    {u.disabled ? 'Enable' : 'Disable'}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {users.data && users.data.count === 0 && <p className="px-3 py-6 text-center text-sm text-slate-500">No user matches.</p>}
      <OffsetPager offset={offset} pageSize={USERS_PAGE} count={users.data?.count ?? 0} onOffset={setOffset} />
    </section>
  );
}
