import { lazy, Suspense } from 'react';
import { createBrowserRouter, RouterProvider, type RouteObject } from 'react-router-dom';
import { AppLayout } from '@/components/layout/app-layout';
import { RouteError } from '@/components/layout/route-error';
import { Spinner } from '@/components/ui/spinner';
import { NotFoundRoute } from './routes/not-found';
import { ScreenerRoute } from './routes/screener';

// The stock page pulls in the charting library: load it on demand.
const StockRoute = lazy(() => import('./routes/stock').then((m) => ({ default: m.StockRoute })));

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
        path: 'stocks/:symbol',
        element: (
          <Suspense fallback={<PageFallback />}>
            <StockRoute />
          </Suspense>
        ),
      },
      { path: '*', element: <NotFoundRoute /> },
    ],
  },
];

const router = createBrowserRouter(routes);

export function AppRouter() {
  return <RouterProvider router={router} />;
}
