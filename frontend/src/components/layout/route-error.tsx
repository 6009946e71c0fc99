import { isRouteErrorResponse, useRouteError } from 'react-router-dom';

export function RouteError() {
  const error = useRouteError();
  const message = isRouteErrorResponse(error)
    ? `${error.status} ${error.statusText}`
    : error instanceof Error
      ? error.message
      : 'Unexpected error';
  return (
    <div className="mx-auto max-w-lg px-4 py-24 text-center">
      <h1 className="text-lg font-semibold text-slate-100">Something went wrong</h1>
      <p className="mt-2 text-slate-400">{message}</p>
      <a href="/" className="btn-primary mt-6">
        Reload Stockscreen
      </a>
    </div>
  );
}
