import { useEffect, useRef } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { Spinner } from '@/components/ui/spinner';
import { ApiError, errorMessage } from '@/lib/api-client';
import { useUnsubscribe } from '../api/unsubscribe';

/** Why a link did not work, in the reader's terms. */
function failure(error: unknown): { title: string; detail: string } {
  if (error instanceof ApiError && (error.status === 400 || error.status === 401 || error.status === 403)) {
    return { title: 'This unsubscribe link is invalid or has expired', detail: 'Sign in and pause the alert, or turn email off in your notification preferences.' };
  }
  if (error instanceof ApiError && error.status === 404) {
    return { title: 'This alert no longer exists', detail: 'It was deleted, so it sends no more emails.' };
  }
  return { title: 'We could not unsubscribe you just now', detail: `${errorMessage(error)} Try the link again in a moment.` };
}

/**
 * `/unsubscribe?token=…`, the landing page of an alert email's unsubscribe link: no sign-in, the signed
 * token names the alert. It stops that alert's emails (its other channels are kept) and says so.
 */
export function UnsubscribePage() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const unsubscribe = useUnsubscribe();
  const { mutate } = unsubscribe;
  const sent = useRef<string | null>(null);

  useEffect(() => {
    // once per token (StrictMode mounts effects twice)
    if (!token || sent.current === token) return;
    sent.current = token;
    mutate(token);
  }, [token, mutate]);

  const problem = !token ? { title: 'This unsubscribe link is incomplete', detail: 'It has no token: open the link from the email again, in full.' } : unsubscribe.isError ? failure(unsubscribe.error) : null;

  return (
    <div className="mx-auto w-full max-w-lg px-4 py-10">
      <section className="card flex flex-col gap-3 p-5" aria-labelledby="unsubscribe-heading" data-testid="unsubscribe-page">
        {unsubscribe.isPending && (
          <>
            <h1 id="unsubscribe-heading" className="text-base font-semibold text-slate-50">
              Unsubscribing…
            </h1>
            <p className="flex items-center gap-2 text-slate-400">
              <Spinner /> Stopping this alert’s emails.
            </p>
          </>
        )}
        {unsubscribe.isSuccess && (
          <div role="status" className="flex flex-col gap-2" data-testid="unsubscribe-done">
            <h1 id="unsubscribe-heading" className="text-base font-semibold text-slate-50">
              You are unsubscribed
            </h1>
            <p className="text-slate-300">This alert will send you no more emails. Its other channels (in-app, live, SMS, webhook) are unchanged, and your other alerts still email you.</p>
            <p className="text-slate-400">
              To pause or delete the alert itself, or to turn email off for every alert, sign in and open{' '}
              <Link to={`/alerts?history=${encodeURIComponent(unsubscribe.data.alert_id)}`} className="text-sky-400 hover:underline">
                your alerts
              </Link>{' '}
              or your{' '}
              <Link to="/alerts/preferences" className="text-sky-400 hover:underline">
                notification preferences
              </Link>
              .
            </p>
          </div>
        )}
        {problem && (
          <div role="alert" className="flex flex-col gap-2" data-testid="unsubscribe-error">
            <h1 id="unsubscribe-heading" className="text-base font-semibold text-rose-200">
              {problem.title}
            </h1>
            <p className="text-slate-300">{problem.detail}</p>
          </div>
        )}
      </section>
    </div>
  );
}
