import { useEffect } from 'react';
import { useSearchParams } from 'react-router-dom';
import { RequireAuth } from '@/features/auth/components/require-auth';
import { AlertsPage } from '@/features/alerts/components/alerts-page';
import { PreferencesPage } from '@/features/alerts/components/preferences-page';
import { UnsubscribePage } from '@/features/alerts/components/unsubscribe-page';
import { useSavedScreens } from '@/features/saved-screens/api/list-saved-screens';
import { useWatchlists } from '@/features/watchlists/api/list-watchlists';
import { useSession } from '@/lib/session';

/** Screen and watchlist alerts name one of the user's saved screens or lists: the route hands the page both. */
function AlertsWithScreens({ initialSymbol }: { initialSymbol?: string }) {
  const saved = useSavedScreens();
  const lists = useWatchlists();
  const premium = useSession((s) => s.user !== null && s.user.role !== 'free');
  const screens = (saved.data?.data ?? []).map((s) => ({ id: s.id, name: s.name }));
  const watchlists = (lists.data?.data ?? []).map((w) => ({ id: w.id, name: w.name }));
  return <AlertsPage screens={screens} watchlists={watchlists} premium={premium} initialSymbol={initialSymbol} />;
}

export function AlertsRoute() {
  const [params] = useSearchParams();
  const symbol = params.get('symbol')?.toUpperCase() || undefined;
  useEffect(() => {
    document.title = 'Alerts · Stockscreen';
  }, []);
  return (
    <RequireAuth title="Sign in to set alerts" reason="Watchlists, portfolios and alerts belong to your account.">
      <div className="mx-auto w-full max-w-3xl px-4 py-4">
        <AlertsWithScreens initialSymbol={symbol} />
      </div>
    </RequireAuth>
  );
}

export function AlertPreferencesRoute() {
  const premium = useSession((s) => s.user !== null && s.user.role !== 'free');
  useEffect(() => {
    document.title = 'Notification preferences · Stockscreen';
  }, []);
  return (
    <RequireAuth title="Sign in to choose how alerts reach you">
      <div className="mx-auto w-full max-w-2xl px-4 py-4">
        <PreferencesPage premium={premium} />
      </div>
    </RequireAuth>
  );
}

/** Public: the signed token in the link is the credential. */
export function UnsubscribeRoute() {
  useEffect(() => {
    document.title = 'Unsubscribe · Stockscreen';
  }, []);
  return <UnsubscribePage />;
}
