import { useEffect } from 'react';
import { useParams } from 'react-router-dom';
import { RequireAuth } from '@/features/auth/components/require-auth';
import { PortfoliosPage } from '@/features/portfolios/components/portfolios-page';

export function PortfoliosRoute() {
  const { id } = useParams();
  useEffect(() => {
    document.title = 'Portfolios · Stockscreen';
  }, []);
  return (
    <RequireAuth title="Sign in to see your portfolios" reason="Watchlists, portfolios and alerts belong to your account.">
      <div className="mx-auto w-full max-w-[1400px] px-4 py-4">
        <PortfoliosPage selectedId={id} />
      </div>
    </RequireAuth>
  );
}
