import { useEffect } from 'react';
import { Link, useParams } from 'react-router-dom';
import { ErrorAlert } from '@/components/ui/error-alert';
import { useSecurity } from '@/features/securities/api/get-security';
import { KeyStats } from '@/features/securities/components/key-stats';
import { PriceChartPanel } from '@/features/securities/components/price-chart-panel';
import { StockHeader } from '@/features/securities/components/stock-header';
import { AddToWatchlist } from '@/features/watchlists/components/add-to-watchlist';
import { ApiError } from '@/lib/api-client';

export function StockRoute() {
  const params = useParams();
  const symbol = (params.symbol ?? '').toUpperCase();
  const security = useSecurity(symbol);

  useEffect(() => {
    document.title = `${symbol} · Stockscreen`;
  }, [symbol]);

  if (security.isError) {
    const notFound = security.error instanceof ApiError && security.error.status === 404;
    return (
      <div className="mx-auto w-full max-w-[1400px] px-4 py-6">
        <ErrorAlert
          title={notFound ? 'Symbol not found' : 'Could not load this security'}
          error={security.error}
          onRetry={notFound ? undefined : () => void security.refetch()}
        />
        <Link to="/" className="btn-secondary mt-4">
          ← Back to screener
        </Link>
      </div>
    );
  }

  return (
    <div className="mx-auto flex w-full max-w-[1400px] flex-col gap-4 px-4 py-4">
      <StockHeader symbol={symbol} security={security.data} isLoading={security.isPending} actions={
          <span className="flex gap-1.5">
            <AddToWatchlist symbol={symbol} />
            <Link to={`/alerts?symbol=${encodeURIComponent(symbol)}`} className="btn-secondary h-8" data-testid="set-alert">
              Set alert
            </Link>
          </span>
        } />
      <div className="grid grid-cols-1 gap-4 xl:grid-cols-[minmax(0,1fr)_340px]">
        <PriceChartPanel symbol={symbol} />
        <KeyStats security={security.data} isLoading={security.isPending} />
      </div>
    </div>
  );
}
