import { useEffect } from 'react';
import { useParams } from 'react-router-dom';
import { RequireAuth } from '@/features/auth/components/require-auth';
import { WatchlistsPage } from '@/features/watchlists/components/watchlists-page';

export function WatchlistsRoute() {
  const { id } = useParams();
  useEffect(() => {
    document.title = 'Watchlists · Stockscreen';
  }, []);
  return (
    <RequireAuth title="Sign in to see your watchlists" reason="Watchlists, portfolios and alerts belong to your account.">
      <div className="mx-auto w-full max-w-[1400px] px-4 py-4">
        <WatchlistsPage selectedId={id} />
      </div>
    </RequireAuth>
  );
}
