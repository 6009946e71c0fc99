import { lazy, Suspense, type ReactNode } from 'react';
import { createBrowserRouter, RouterProvider, type RouteObject } from 'react-router-dom';
import { AppLayout } from '@/components/layout/app-layout';
import { RouteError } from '@/components/layout/route-error';
import { Spinner } from '@/components/ui/spinner';
import { MyScreensRoute } from './routes/my-screens';
import { NotFoundRoute } from './routes/not-found';
import { ScreenerRoute } from './routes/screener';

// The stock page pulls in the charting library: load it on demand.
const StockRoute = lazy(() => import('./routes/stock').then((m) => ({ default: m.StockRoute })));
// Pages most visits never open.
const LoginRoute = lazy(() => import('./routes/login').then((m) => ({ default: m.LoginRoute })));
const RegisterRoute = lazy(() => import('./routes/login').then((m) => ({ default: m.RegisterRoute })));
const SharedScreenRoute = lazy(() => import('./routes/shared-screen').then((m) => ({ default: m.SharedScreenRoute })));
// Account pages: each its own chunk (portfolios shares the charting library's with the stock page).
const WatchlistsRoute = lazy(() => import('./routes/watchlists').then((m) => ({ default: m.WatchlistsRoute })));
const PortfoliosRoute = lazy(() => import('./routes/portfolios').then((m) => ({ default: m.PortfoliosRoute })));
const AlertsRoute = lazy(() => import('./routes/alerts').then((m) => ({ default: m.AlertsRoute })));
const AlertPreferencesRoute = lazy(() => import('./routes/alerts').then((m) => ({ default: m.AlertPreferencesRoute })));
const UnsubscribeRoute = lazy(() => import('./routes/alerts').then((m) => ({ default: m.UnsubscribeRoute })));
const NotificationsRoute = lazy(() => import('./routes/notifications').then((m) => ({ default: m.NotificationsRoute })));
const ReportsRoute = lazy(() => import('./routes/reports').then((m) => ({ default: m.ReportsRoute })));
const BacktestRoute = lazy(() => import('@/features/backtest/components/backtest-page').then((m) => ({ default: m.BacktestRoute })));
// The admin area (admins only): Data, Users, Audit log, Operations.
const AdminArea = lazy(() => import('@/features/admin/components/admin-area').then((m) => ({ default: m.AdminArea })));

function Lazy({ children }: { children: ReactNode }) {
  return <Suspense fallback={<PageFallback />}>{children}</Suspense>;
}

function PageFallback() {
  return (
    <div className="flex items-center justify-center gap-2 py-24 text-slate-400">
      <Spinner /> Loading…
    </div>
  );
}

export const routes: RouteObject[] = [
  {
    path: '/',
    element: <AppLayout />,
    errorElement: <RouteError />,
    children: [
      { index: true, element: <ScreenerRoute /> },
      {
        path: 'login',
        element: (
          <Lazy>
            <LoginRoute />
          </Lazy>
        ),
      },
      {
        path: 'register',
        element: (
          <Lazy>
            <RegisterRoute />
          </Lazy>
        ),
      },
      { path: 'screens', element: <MyScreensRoute /> },
      {
        path: 'screens/shared/:token',
        element: (
          <Lazy>
            <SharedScreenRoute />
          </Lazy>
        ),
      },
      {
        path: 'stocks/:symbol',
        element: (
          <Lazy>
            <StockRoute />
          </Lazy>
        ),
      },
      ...(
        [
          ['watchlists', <WatchlistsRoute key="w" />],
          ['watchlists/:id', <WatchlistsRoute key="w" />],
          ['portfolios', <PortfoliosRoute key="p" />],
          ['portfolios/:id', <PortfoliosRoute key="p" />],
          ['alerts', <AlertsRoute key="a" />],
          ['alerts/preferences', <AlertPreferencesRoute key="ap" />],
          ['unsubscribe', <UnsubscribeRoute key="u" />],
          ['notifications', <NotificationsRoute key="n" />],
          ['backtest', <BacktestRoute key="b" />],
          ['admin/*', <AdminArea key="admin" />],
          ['reports', <ReportsRoute key="r" />],
        ] as const
      ).map(([path, page]) => ({ path, element: <Lazy>{page}</Lazy> })),
      { path: '*', element: <NotFoundRoute /> },
    ],
  },
];

const router = createBrowserRouter(routes);

export function AppRouter() {
  return <RouterProvider router={router} />;
}
