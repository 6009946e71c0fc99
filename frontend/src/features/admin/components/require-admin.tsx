import type { ReactNode } from 'react';
import { RequireAuth } from '@/features/auth/components/require-auth';
import { useSession } from '@/lib/session';

export const isAdmin = (role: string | undefined) => role === 'admin';

/** Admins only: others are told so (and the API refuses them with 403 anyway). */
export function RequireAdmin({ children }: { children: ReactNode }) {
  const role = useSession((s) => s.user?.role);
  return (
    <RequireAuth title="Sign in as an administrator" reason="The admin area is for administrators.">
      {isAdmin(role) ? (
        children
      ) : (
        <div role="alert" className="mx-auto max-w-md px-4 py-16 text-center text-slate-300">
          <p className="text-lg font-medium text-slate-100">Admins only</p>
          <p className="mt-1 text-sm text-slate-400">Your account cannot open the admin area.</p>
        </div>
      )}
    </RequireAuth>
  );
}
