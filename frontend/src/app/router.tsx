import { createBrowserRouter, RouterProvider } from 'react-router-dom';
import { AppLayout } from '@/components/layout/app-layout';
import { RouteError } from '@/components/layout/route-error';
import { ScreenerRoute } from './routes/screener';
import { NotFoundRoute } from './routes/not-found';

export const routes = [
  {
    path: '/',
    element: <AppLayout />,
    errorElement: <RouteError />,
    children: [
      { index: true, element: <ScreenerRoute /> },
      {
        path: 'stocks/:symbol',
        lazy: async () => {
          const { StockRoute } = await import('./routes/stock');
          return { Component: StockRoute };
        },
      },
      { path: '*', element: <NotFoundRoute /> },
    ],
  },
];

const router = createBrowserRouter(routes);

export function AppRouter() {
  return <RouterProvider router={router} />;
}
