import { useEffect, useState } from 'react';
import { CardHeader } from '@/components/ui/card-header';
import { ErrorAlert } from '@/components/ui/error-alert';
import { Spinner } from '@/components/ui/spinner';
import { RequireAuth } from '@/features/auth/components/require-auth';
import { useBacktest, type BacktestRequest } from '../api/run-backtest';
import { BacktestForm } from './backtest-form';
import { BacktestResults } from './backtest-results';

/** Backtest a screen: the settings, then the equity curve against the benchmark, drawdowns, statistics and holdings. */
export function BacktestPage() {
  const [request, setRequest] = useState<BacktestRequest | null>(null);
  const run = useBacktest(request);
  return (
    <div className="flex flex-col gap-4">
      <section className="card" aria-labelledby="backtest-heading">
        <CardHeader id="backtest-heading" title="Backtest a screen" level={1}>
          {run.isFetching && <Spinner />}
        </CardHeader>
        <BacktestForm onSubmit={setRequest} busy={run.isFetching} />
      </section>
      {run.isError ? (
        <ErrorAlert title="The backtest failed" error={run.error} onRetry={() => void run.refetch()} />
      ) : run.data ? (
        <section className="card" aria-label="Backtest results" data-testid="backtest-results">
          <BacktestResults result={run.data} />
        </section>
      ) : null}
    </div>
  );
}

export function BacktestRoute() {
  useEffect(() => {
    document.title = 'Backtest · Stockscreen';
  }, []);
  return (
    <RequireAuth title="Sign in to backtest screens" reason="Backtests are part of the premium plan.">
      <div className="mx-auto w-full max-w-[1400px] px-4 py-4">
        <BacktestPage />
      </div>
    </RequireAuth>
  );
}
