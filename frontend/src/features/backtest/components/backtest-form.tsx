import { useState, type FormEvent } from 'react';
import type { BacktestRequest } from '../api/run-backtest';

const DEFAULT_QUERY = 'rsi14 < 30';

/** The screen and the backtest's settings; submits a request (empty fields are the API's defaults). */
export function BacktestForm({ onSubmit, busy }: { onSubmit: (request: BacktestRequest) => void; busy: boolean }) {
  const [query, setQuery] = useState(DEFAULT_QUERY);
  const [from, setFrom] = useState('2014-01-01');
  const [to, setTo] = useState('2017-12-31');
  const [rebalance, setRebalance] = useState<'monthly' | 'weekly'>('monthly');
  const [entry, setEntry] = useState<'next_open' | 'same_close'>('next_open');
  const [hold, setHold] = useState('');
  const [cost, setCost] = useState('10');
  const [slippage, setSlippage] = useState('5');
  const [benchmark, setBenchmark] = useState('');

  function submit(e: FormEvent) {
    e.preventDefault();
    const request: BacktestRequest = { query: query.trim(), rebalance, entry };
    if (from) request.from = from;
    if (to) request.to = to;
    if (hold.trim()) request.hold_sessions = Number(hold);
    if (cost.trim()) request.cost_bps = Number(cost);
    if (slippage.trim()) request.slippage_bps = Number(slippage);
    if (benchmark.trim()) request.benchmark = benchmark.trim().toUpperCase();
    onSubmit(request);
  }

  const label = 'flex flex-col gap-1 text-xs text-slate-400';
  return (
    <form onSubmit={submit} className="grid gap-3 p-3 md:grid-cols-4" aria-label="Backtest settings">
      <label className={`${label} md:col-span-4`}>
        Screen
        <textarea
          className="input min-h-16 w-full font-mono text-sm"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          required
          maxLength={4000}
        />
      </label>
      <label className={label}>
        From
        <input className="input h-9" type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
      </label>
      <label className={label}>
        To
        <input className="input h-9" type="date" value={to} onChange={(e) => setTo(e.target.value)} />
      </label>
      <label className={label}>
        Rebalance
        <select className="input h-9" value={rebalance} onChange={(e) => setRebalance(e.target.value as 'monthly' | 'weekly')}>
          <option value="monthly">Monthly</option>
          <option value="weekly">Weekly</option>
        </select>
      </label>
      <label className={label}>
        Entry and exit
        <select className="input h-9" value={entry} onChange={(e) => setEntry(e.target.value as 'next_open' | 'same_close')}>
          <option value="next_open">Next session&apos;s open</option>
          <option value="same_close">Signal day&apos;s close (optimistic)</option>
        </select>
      </label>
      <label className={label}>
        Hold (sessions, empty: to the next rebalance)
        <input className="input h-9" type="number" min={1} max={1260} value={hold} onChange={(e) => setHold(e.target.value)} />
      </label>
      <label className={label}>
        Cost per trade (bps)
        <input className="input h-9" type="number" min={0} max={1000} step="any" value={cost} onChange={(e) => setCost(e.target.value)} />
      </label>
      <label className={label}>
        Slippage per trade (bps)
        <input className="input h-9" type="number" min={0} max={1000} step="any" value={slippage} onChange={(e) => setSlippage(e.target.value)} />
      </label>
      <label className={label}>
        Benchmark symbol (optional)
        <input className="input h-9 uppercase" value={benchmark} maxLength={16} onChange={(e) => setBenchmark(e.target.value)} placeholder="e.g. SPY" />
      </label>
      <div className="md:col-span-4">
        <button type="submit" className="btn btn-primary" disabled={busy || !query.trim()}>
          {busy ? 'Running…' : 'Run backtest'}
        </button>
      </div>
    </form>
  );
}
