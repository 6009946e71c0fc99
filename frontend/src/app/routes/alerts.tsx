import { useEffect } from 'react';
import { useSearchParams } from 'react-router-dom';
import { RequireAuth } from '@/features/auth/components/require-auth';
import { AlertsPage } from '@/features/alerts/components/alerts-page';
import { useSavedScreens } from '@/features/saved-screens/api/list-saved-screens';

/** Screen alerts name one of the user's saved screens: the route hands the alerts page that list. */
function AlertsWithScreens({ initialSymbol }: { initialSymbol?: string }) {
  const saved = useSavedScreens();
  const screens = (saved.data?.data ?? []).map((s) => ({ id: s.id, name: s.name }));
  return <AlertsPage screens={screens} initialSymbol={initialSymbol} />;
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
