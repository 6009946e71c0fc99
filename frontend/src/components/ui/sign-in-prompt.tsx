import { Link, useLocation } from 'react-router-dom';

/** What an anonymous visitor sees in place of something that needs an account. */
export function SignInPrompt({ title, children, compact = false }: { title: string; children?: React.ReactNode; compact?: boolean }) {
  const location = useLocation();
  const next = encodeURIComponent(`${location.pathname}${location.search}`);
  return (
    <div
      data-testid="sign-in-prompt"
      className={compact ? 'flex flex-col gap-2 text-slate-400' : 'card mx-auto flex max-w-md flex-col items-center gap-3 px-6 py-10 text-center'}
    >
      <p className={compact ? 'font-medium text-slate-200' : 'text-base font-semibold text-slate-100'}>{title}</p>
      {children && <div className="text-slate-400">{children}</div>}
      <div className="flex flex-wrap items-center gap-2">
        <Link to={`/login?next=${next}`} className="btn-primary">
          Sign in
        </Link>
        <Link to={`/register?next=${next}`} className="btn-secondary">
          Create account
        </Link>
      </div>
    </div>
  );
}
