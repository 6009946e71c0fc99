import { createChart, LineSeries, type IChartApi, type ISeriesApi } from 'lightweight-charts';
import { useEffect, useRef } from 'react';
import { ErrorAlert } from '@/components/ui/error-alert';
import { Spinner } from '@/components/ui/spinner';
import { CHART_THEME } from '@/lib/chart-theme';
import { changeClass, formatPercent } from '@/lib/format';
import { usePerformance } from '../api/get-performance';
import { CardHeader } from '@/components/ui/card-header';

const PORTFOLIO = '#38bdf8';
const UNIVERSE = '#a78bfa';

function IndexChart({ points }: { points: { date: string; portfolio_index: number; universe_index: number }[] }) {
  const containerRef = useRef<HTMLDivElement | null>(null);
  const chartRef = useRef<IChartApi | null>(null);
  const seriesRef = useRef<{ portfolio: ISeriesApi<'Line'>; universe: ISeriesApi<'Line'> } | null>(null);

  useEffect(() => {
    const el = containerRef.current;
    if (!el) return;
    const chart = createChart(el, { ...CHART_THEME, timeScale: { borderColor: '#1e293b' } });
    const portfolio = chart.addSeries(LineSeries, { color: PORTFOLIO, lineWidth: 2, title: 'Portfolio' });
    const universe = chart.addSeries(LineSeries, { color: UNIVERSE, lineWidth: 1, title: 'Universe' });
    chartRef.current = chart;
    seriesRef.current = { portfolio, universe };
    return () => {
      chart.remove();
      chartRef.current = null;
      seriesRef.current = null;
    };
  }, []);

  useEffect(() => {
    seriesRef.current?.portfolio.setData(points.map((p) => ({ time: p.date, value: p.portfolio_index })));
    seriesRef.current?.universe.setData(points.map((p) => ({ time: p.date, value: p.universe_index })));
    chartRef.current?.timeScale().fitContent();
  }, [points]);

  return <div ref={containerRef} data-testid="performance-chart" className="h-64 w-full" />;
}

/** The portfolio's time-weighted index against the equal-weighted universe, both 100 on the first day. */
export function PerformancePanel({ portfolioId, hasTransactions }: { portfolioId: string; hasTransactions: boolean }) {
  const perf = usePerformance(portfolioId, hasTransactions);
  return (
    <section className="card flex flex-col" aria-labelledby="performance-heading" data-testid="performance">
      <CardHeader id="performance-heading" title="Performance" className="flex-wrap gap-x-4 gap-y-1">
        {perf.isFetching && <Spinner />}
        {perf.data && perf.data.count > 0 && (
          <dl className="tabular ml-auto flex gap-4 text-xs">
            <div className="flex items-center gap-1.5">
              <span className="h-0.5 w-3 bg-sky-400" aria-hidden="true" />
              <dt className="text-slate-400">Portfolio</dt>
              <dd className={changeClass(perf.data.portfolio_return_pct)} data-testid="portfolio-return">
                {formatPercent(perf.data.portfolio_return_pct, { signed: true })}
              </dd>
            </div>
            <div className="flex items-center gap-1.5">
              <span className="h-0.5 w-3 bg-violet-400" aria-hidden="true" />
              <dt className="text-slate-400">Universe (equal-weighted)</dt>
              <dd className={changeClass(perf.data.universe_return_pct)}>{formatPercent(perf.data.universe_return_pct, { signed: true })}</dd>
            </div>
          </dl>
        )}
      </CardHeader>
      <div className="p-3">
        {!hasTransactions ? (
          <p className="py-8 text-center text-slate-500">Add a transaction to see how the portfolio does against the market.</p>
        ) : perf.isError ? (
          <ErrorAlert title="Could not load the performance" error={perf.error} onRetry={() => void perf.refetch()} />
        ) : perf.data && perf.data.count === 0 ? (
          <p className="py-8 text-center text-slate-500">No prices yet after the first transaction.</p>
        ) : perf.data ? (
          <IndexChart points={perf.data.data} />
        ) : (
          <p className="flex items-center justify-center gap-2 py-16 text-slate-400">
            <Spinner /> Loading…
          </p>
        )}
      </div>
    </section>
  );
}
