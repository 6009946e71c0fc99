import { Link } from 'react-router-dom';

export function NotFoundRoute() {
  return (
    <div className="mx-auto flex max-w-md flex-col items-center gap-3 px-4 py-24 text-center">
      <p className="text-5xl font-semibold text-slate-700">404</p>
      <p className="text-slate-300">This page does not exist.</p>
      <Link to="/" className="btn-primary">
        Go to the screener
      </Link>
    </div>
  );
}
