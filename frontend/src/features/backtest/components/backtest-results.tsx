import { Fragment, useMemo, useState } from 'react';
import { cn } from '@/lib/cn';
import { changeClass, formatPercent, formatPrice } from '@/lib/format';
import type { BacktestPeriod, BacktestResult, BacktestStats } from '../api/run-backtest';
import { LineChart, type Line } from '@/components/line-chart';

const STRATEGY = '#38bdf8';
const BENCHMARK = '#a78bfa';
const SYMBOL = '#fbbf24';

/** A fraction (0.05) as a percent ("5.00%"). */
const pct = (v: number | null | undefined, signed = false) => formatPercent(typeof v === 'number' ? v * 100 : null, { signed });
const ratio = (v: number | null | undefined) => (typeof v === 'number' ? v.toFixed(2) : '—');

const STAT_ROWS: { key: keyof BacktestStats; label: string; title: string; format: (s: BacktestStats) => string }[] = [
  { key: 'total_return', label: 'Total return', title: 'Compounded over the test, after costs for the strategy', format: (s) => pct(s.total_return, true) },
  { key: 'cagr', label: 'CAGR', title: 'Compound annual growth rate over the calendar days from the first entry to the last exit', format: (s) => pct(s.cagr, true) },
  { key: 'volatility', label: 'Volatility (annualised)', title: 'Sample standard deviation of the period returns x sqrt(periods per year)', format: (s) => pct(s.volatility) },
  { key: 'sharpe', label: 'Sharpe', title: 'Mean period return / its standard deviation x sqrt(periods per year); risk-free rate 0', format: (s) => ratio(s.sharpe) },
  { key: 'max_drawdown', label: 'Max drawdown', title: 'Largest fall of the equity curve from its running peak (at period ends)', format: (s) => pct(s.max_drawdown === 0 ? 0 : -s.max_drawdown) },
  { key: 'max_drawdown_peak', label: 'Drawdown peak → trough', title: 'Dates of the largest drawdown', format: (s) => (s.max_drawdown_peak ? `${s.max_drawdown_peak} → ${s.max_drawdown_trough}` : '—') },
];

function StatsTable({ result }: { result: BacktestResult }) {
  const { summary } = result;
  const columns: [string, BacktestStats][] = [
    ['Strategy (net)', summary.strategy],
    ['Benchmark (equal-weighted universe)', summary.benchmark],
  ];
  if (summary.benchmark_symbol) columns.push([result.benchmark_symbol ?? 'Symbol', summary.benchmark_symbol]);
  const head = 'px-2 py-1.5 font-medium';
  return (
    <table className="w-full border-collapse text-[13px]" data-testid="backtest-stats">
      <thead>
        <tr className="border-b border-slate-800 text-left text-slate-400">
          <th className={head} scope="col">Statistic</th>
          {columns.map(([name]) => (
            <th key={name} className={cn(head, 'text-right')} scope="col">
              {name}
            </th>
          ))}
        </tr>
      </thead>
      <tbody className="tabular">
        {STAT_ROWS.map((row) => (
          <tr key={row.key} className="border-b border-slate-900">
            <th scope="row" className="px-2 py-1 text-left font-normal text-slate-300" title={row.title}>
              {row.label}
            </th>
            {columns.map(([name, s]) => (
              <td key={name} className="px-2 py-1 text-right">
                {row.format(s)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SummaryList({ result }: { result: BacktestResult }) {
  const s = result.summary;
  const items: [string, string, string][] = [
    ['Periods', `${s.periods} (${s.invested_periods} invested)`, 'Rebalances with a complete outcome; the others held cash'],
    ['Average holdings', s.avg_holdings.toFixed(1), 'Mean number of securities held per period'],
    ['Hit rate', pct(s.hit_rate), result.definitions.hit_rate ?? 'Share of the invested periods whose net return beat the benchmark'],
    ['Average excess', pct(s.avg_excess, true), 'Mean of net return minus benchmark return over all periods (same periods and dates)'],
    ['Average excess, invested periods', pct(s.avg_excess_invested, true), 'The same mean over the periods with holdings'],
    ['Average turnover', pct(s.avg_turnover), 'Share of the portfolio replaced at each rebalance after the first'],
    ['Total cost', pct(s.total_cost), `Sum of the periods' costs at ${result.cost_bps} + ${result.slippage_bps} bps per trade`],
  ];
  return (
    <dl className="grid grid-cols-2 gap-x-4 gap-y-1 p-3 text-[13px] md:grid-cols-4" data-testid="backtest-summary">
      {items.map(([label, value, title]) => (
        <div key={label} title={title}>
          <dt className="text-xs text-slate-400">{label}</dt>
          <dd className="tabular">{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function Charts({ result }: { result: BacktestResult }) {
  const [equity, drawdown] = useMemo(() => {
    const eq: Line[] = [
      { title: 'Strategy', color: STRATEGY, points: result.equity.map((p) => ({ time: p.date, value: p.strategy })) },
      { title: 'Benchmark', color: BENCHMARK, points: result.equity.map((p) => ({ time: p.date, value: p.benchmark ?? 1 })) },
    ];
    if (result.benchmark_symbol) {
      eq.push({ title: result.benchmark_symbol, color: SYMBOL, points: result.equity.map((p) => ({ time: p.date, value: p.benchmark_symbol ?? 1 })) });
    }
    const dd: Line[] = [
      { title: 'Strategy', color: STRATEGY, points: result.equity.map((p) => ({ time: p.date, value: p.drawdown * 100 })) },
      { title: 'Benchmark', color: BENCHMARK, points: result.equity.map((p) => ({ time: p.date, value: (p.benchmark_drawdown ?? 0) * 100 })) },
    ];
    return [eq, dd];
  }, [result]);
  return (
    <div className="grid gap-3 p-3 lg:grid-cols-2">
      <figure>
        <figcaption className="mb-1 text-xs text-slate-400">Equity (1 invested, after costs) against the benchmark</figcaption>
        <LineChart lines={equity} testId="backtest-equity" />
      </figure>
      <figure>
        <figcaption className="mb-1 text-xs text-slate-400">Drawdown from the running peak (%)</figcaption>
        <LineChart lines={drawdown} testId="backtest-drawdown" />
      </figure>
    </div>
  );
}

function PeriodRow({ period }: { period: BacktestPeriod }) {
  const [open, setOpen] = useState(false);
  const cell = 'px-2 py-1';
  return (
    <Fragment>
      <tr className="border-b border-slate-900" data-testid="backtest-period">
        <td className={cell}>{period.signal_date}</td>
        <td className={cell}>{period.entry_date}</td>
        <td className={cell}>{period.exit_date}</td>
        <td className={cn(cell, 'text-right')}>
          {period.cash ? (
            <span className="text-slate-500">cash</span>
          ) : (
            <button type="button" className="btn-ghost h-6 px-1" aria-expanded={open} onClick={() => setOpen(!open)}>
              {period.count} {open ? '▾' : '▸'}
            </button>
          )}
        </td>
        <td className={cn(cell, 'text-right', changeClass(period.net_return))}>{pct(period.net_return, true)}</td>
        <td className={cn(cell, 'text-right', changeClass(period.benchmark_return))}>{pct(period.benchmark_return, true)}</td>
        <td className={cn(cell, 'text-right', changeClass(period.excess))}>{pct(period.excess, true)}</td>
        <td className={cn(cell, 'text-right')}>{pct(period.turnover)}</td>
      </tr>
      {open && (
        <tr className="border-b border-slate-900 bg-slate-900/40">
          <td colSpan={8} className="px-2 py-1">
            <table className="w-full text-xs" data-testid="backtest-holdings">
              <thead>
                <tr className="text-left text-slate-400">
                  <th className="px-1 font-medium">Symbol</th>
                  <th className="px-1 font-medium">Entry</th>
                  <th className="px-1 text-right font-medium">Price</th>
                  <th className="px-1 font-medium">Exit</th>
                  <th className="px-1 text-right font-medium">Price</th>
                  <th className="px-1 text-right font-medium">Return</th>
                </tr>
              </thead>
              <tbody className="tabular">
                {period.holdings.map((h) => (
                  <tr key={h.symbol}>
                    <td className="px-1">{h.symbol}</td>
                    <td className="px-1">{h.entry_date}</td>
                    <td className="px-1 text-right">{formatPrice(h.entry_price)}</td>
                    <td className="px-1">
                      {h.exit_date}
                      {h.delisted && <span className="ml-1 text-amber-400">delisted</span>}
                    </td>
                    <td className="px-1 text-right">{formatPrice(h.exit_price)}</td>
                    <td className={cn('px-1 text-right', changeClass(h.gross_return))}>{pct(h.gross_return, true)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </td>
        </tr>
      )}
    </Fragment>
  );
}

function PeriodsTable({ periods }: { periods: BacktestPeriod[] }) {
  const head = 'px-2 py-1.5 font-medium';
  return (
    <div className="max-h-[32rem] overflow-auto">
      <table className="w-full border-collapse text-[13px]" data-testid="backtest-periods">
        <thead className="sticky top-0 bg-slate-950">
          <tr className="border-b border-slate-800 text-left text-slate-400">
            <th className={head}>Signal</th>
            <th className={head}>Entry</th>
            <th className={head}>Exit</th>
            <th className={cn(head, 'text-right')}>Held</th>
            <th className={cn(head, 'text-right')}>Net</th>
            <th className={cn(head, 'text-right')}>Benchmark</th>
            <th className={cn(head, 'text-right')}>Excess</th>
            <th className={cn(head, 'text-right')}>Turnover</th>
          </tr>
        </thead>
        <tbody className="tabular">
          {periods.map((p) => (
            <PeriodRow key={p.signal_date} period={p} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A backtest's warnings, statistics, equity and drawdown charts, and every period's holdings. */
export function BacktestResults({ result }: { result: BacktestResult }) {
  return (
    <div className="flex flex-col gap-3">
      <p className="px-3 pt-3 text-xs text-slate-400" data-testid="backtest-method">
        {result.query} · {result.rebalance} · {result.start} → {result.end} · entry {result.entry === 'next_open' ? "at the next session's open" : "at the signal day's close"} ·{' '}
        {result.hold_sessions ? `held ${result.hold_sessions} sessions` : 'held to the next rebalance'} · costs {result.cost_bps} + {result.slippage_bps} bps per trade
      </p>
      {result.warnings.length > 0 && (
        <ul className="mx-3 rounded border border-amber-800 bg-amber-950/40 px-3 py-2 text-xs text-amber-200" data-testid="backtest-warnings">
          {result.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      <Charts result={result} />
      <div className="px-3">
        <StatsTable result={result} />
      </div>
      <SummaryList result={result} />
      <PeriodsTable periods={result.periods} />
    </div>
  );
}
