import { Link, NavLink, Outlet, ScrollRestoration } from 'react-router-dom';
import { ToastOutlet } from '@/components/ui/toast-store';
import { UserMenu } from '@/features/auth/components/user-menu';
import { NotificationBell } from '@/features/notifications/components/notification-bell';
import { SymbolSearch } from '@/features/securities/components/symbol-search';
import { cn } from '@/lib/cn';
import { useSession } from '@/lib/session';

const navClass = ({ isActive }: { isActive: boolean }) =>
  cn('whitespace-nowrap rounded px-2 py-1 text-[13px]', isActive ? 'bg-slate-800 text-white' : 'text-slate-400 hover:text-slate-100');

const ACCOUNT_PAGES = [
  ['/watchlists', 'Watchlists'],
  ['/portfolios', 'Portfolios'],
  ['/alerts', 'Alerts'],
  ['/reports', 'Reports'],
] as const;

/** Admins see the admin area in the nav; nobody else does (the API refuses them anyway). */
function AdminLink() {
  const role = useSession((s) => s.user?.role);
  if (role !== 'admin') return null;
  return (
    <NavLink to="/admin" className={navClass}>
      Admin
    </NavLink>
  );
}

export function AppLayout() {
  return (
    <div className="flex min-h-screen flex-col">
      <header className="sticky top-0 z-40 border-b border-slate-800 bg-slate-950/90 backdrop-blur">
        <div className="mx-auto flex h-12 w-full max-w-[1400px] items-center gap-4 px-4">
          <Link to="/" className="flex flex-none items-center gap-2 font-semibold tracking-tight text-slate-50" aria-label="Stockscreen home">
            <img src="/favicon.svg" alt="" className="h-6 w-6" />
            <span className="hidden text-[15px] min-[420px]:inline">Stockscreen</span>
          </Link>
          <nav className="hidden items-center gap-1 sm:flex">
            <NavLink
              to="/"
              end
              className={navClass}
            >
              Screener
            </NavLink>
            <NavLink
              to="/screens"
              end
              className={navClass}
            >
              My screens
            </NavLink>
            <NavLink
              to="/backtest"
              className={navClass}
            >
              Backtest
            </NavLink>
            <AdminLink />
            {/* Narrower screens reach these from the account menu. */}
            {ACCOUNT_PAGES.map(([to, label]) => (
              <NavLink key={to} to={to} className={(state) => cn(navClass(state), 'hidden lg:inline')}>
                {label}
              </NavLink>
            ))}
          </nav>
          <div className="ml-auto w-full min-w-0 max-w-xs">
            <SymbolSearch />
          </div>
          <NotificationBell />
          <UserMenu />
        </div>
      </header>
      <main className="flex-1">
        <Outlet />
      </main>
      <footer className="border-t border-slate-900 py-3 text-center text-[11px] text-slate-600">
        Stockscreen · Data is for information only, not investment advice · Charts by{' '}
        <a href="https://www.tradingview.com/" className="underline hover:text-slate-400" rel="noreferrer" target="_blank">
          TradingView
        </a>
      </footer>
      <ToastOutlet />
      <ScrollRestoration />
    </div>
  );
}
