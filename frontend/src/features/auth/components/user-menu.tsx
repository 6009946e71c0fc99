import * as DropdownMenu from '@radix-ui/react-dropdown-menu';
import { Link, useNavigate } from 'react-router-dom';
import { Spinner } from '@/components/ui/spinner';
import { cn } from '@/lib/cn';
import { useSession } from '@/lib/session';
import { useLogout } from '../api/logout';

const ROLE_STYLES: Record<string, string> = {
  free: 'border-slate-600 text-slate-300',
  premium: 'border-amber-600/70 bg-amber-500/10 text-amber-300',
  admin: 'border-fuchsia-600/70 bg-fuchsia-500/10 text-fuchsia-300',
};

export function RoleBadge({ role }: { role: string }) {
  return (
    <span
      data-testid="role-badge"
      className={cn('rounded border px-1.5 py-px text-[10px] font-semibold uppercase tracking-wide', ROLE_STYLES[role] ?? ROLE_STYLES.free)}
    >
      {role}
    </span>
  );
}

const MENU_PAGES = [
  ['/screens', 'My screens'],
  ['/watchlists', 'Watchlists'],
  ['/portfolios', 'Portfolios'],
  ['/alerts', 'Alerts'],
  ['/notifications', 'Notifications'],
] as const;

/** The header's account area: sign-in links, or the signed-in user with a menu. */
export function UserMenu() {
  const status = useSession((s) => s.status);
  const user = useSession((s) => s.user);
  const logout = useLogout();
  const navigate = useNavigate();

  if (status === 'unknown') return <Spinner className="flex-none" />;
  if (status === 'anonymous' || !user) {
    return (
      <div className="flex flex-none items-center gap-1">
        <Link to="/login" className="btn-ghost h-8 px-2" data-testid="sign-in-link">
          Sign in
        </Link>
        <Link to="/register" className="btn-primary hidden h-8 px-2.5 md:inline-flex">
          Create account
        </Link>
      </div>
    );
  }

  return (
    <DropdownMenu.Root modal={false}>
      <DropdownMenu.Trigger
        className="btn-ghost h-8 max-w-[16rem] flex-none gap-2 px-2 text-slate-200"
        aria-label={`Account: ${user.email} (${user.role})`}
        data-testid="user-menu"
      >
        <span className="hidden truncate md:inline" data-testid="user-email">
          {user.email}
        </span>
        <span aria-hidden="true" className="flex h-6 w-6 flex-none items-center justify-center rounded-full bg-slate-700 text-xs font-semibold uppercase text-slate-100 md:hidden">
          {user.email.slice(0, 1)}
        </span>
        <RoleBadge role={user.role} />
      </DropdownMenu.Trigger>
      <DropdownMenu.Portal>
        <DropdownMenu.Content className="menu-content" sideOffset={6} align="end">
          <DropdownMenu.Label className="px-2 py-1.5 text-xs text-slate-400">
            Signed in as
            <span className="block truncate text-[13px] text-slate-100">{user.display_name || user.email}</span>
          </DropdownMenu.Label>
          <DropdownMenu.Separator className="my-1 h-px bg-slate-800" />
          {MENU_PAGES.map(([to, label]) => (
            <DropdownMenu.Item key={to} className="menu-item" onSelect={() => navigate(to)}>
              {label}
            </DropdownMenu.Item>
          ))}
          <DropdownMenu.Separator className="my-1 h-px bg-slate-800" />
          <DropdownMenu.Item
            className="menu-item"
            data-testid="sign-out"
            disabled={logout.isPending}
            onSelect={() => logout.mutate(undefined, { onSettled: () => navigate('/') })}
          >
            Sign out
          </DropdownMenu.Item>
        </DropdownMenu.Content>
      </DropdownMenu.Portal>
    </DropdownMenu.Root>
  );
}
