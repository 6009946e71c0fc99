import { useLiveQuote } from '@/features/live/use-live-quote';
import { cn } from '@/lib/cn';
import { asNumber, changeClass, formatPercent, formatPrice } from '@/lib/format';
import type { ReactNode } from 'react';
import type { SecurityDetail } from '@/types';

function formatTime(ts: string): string {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  return d.toLocaleTimeString('en-US', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function StockHeader({
  symbol,
  security,
  isLoading,
  actions,
}: {
  symbol: string;
  security: SecurityDetail | undefined;
  isLoading: boolean;
  /** Controls beside the title (the route puts "add to watchlist" there). */
  actions?: ReactNode;
}) {
  const { quote, status } = useLiveQuote(symbol);
  const snap = security?.snapshot ?? null;
  const close = asNumber(snap?.close);
  const change = asNumber(snap?.change_pct);

  return (
    <section data-testid="stock-header" className="card flex flex-wrap items-end gap-x-8 gap-y-3 px-4 py-3">
      <div className="min-w-0">
        <div className="flex items-baseline gap-3">
          <h1 className="text-2xl font-semibold tracking-tight text-white">{symbol}</h1>
          <span className="truncate text-base text-slate-300">{security?.name ?? (isLoading ? 'Loading…' : '')}</span>
          {actions && <span className="flex-none self-center">{actions}</span>}
        </div>
        <p className="mt-0.5 text-xs text-slate-500">
          {[security?.sector, security?.industry, security?.headquarters].filter(Boolean).join(' · ') || '\u00a0'}
        </p>
      </div>

      <div className="tabular flex flex-col">
        <span className="text-[11px] uppercase tracking-wide text-slate-500">Last close</span>
        <span className="flex items-baseline gap-2">
          <span className="text-2xl font-semibold text-slate-100">{formatPrice(close)}</span>
          <span className={cn('text-sm font-medium', changeClass(change))}>{formatPercent(change, { signed: true })}</span>
        </span>
      </div>

      <div className="tabular ml-auto flex items-baseline gap-3">
        {quote ? (
          <div data-testid="live-price" className="flex flex-col items-end">
            <span className="flex items-center gap-1.5 text-[11px] uppercase tracking-wide text-emerald-400">
              <span className="relative flex h-2 w-2">
                <span className="absolute inline-flex h-full w-full animate-ping rounded-full bg-emerald-400 opacity-60" />
                <span className="relative inline-flex h-2 w-2 rounded-full bg-emerald-400" />
              </span>
              Live
            </span>
            <span className="flex items-baseline gap-2">
              <span className="text-2xl font-semibold text-white">{formatPrice(quote.price)}</span>
              <span className={cn('text-sm font-medium', changeClass(quote.change_pct))}>
                {formatPercent(quote.change_pct, { signed: true })}
              </span>
            </span>
            <span className="text-[11px] text-slate-500">at {formatTime(quote.ts)}</span>
          </div>
        ) : (
          <span className="flex items-center gap-1.5 text-xs text-slate-500" title="Live quotes over WebSocket">
            <span className={cn('h-2 w-2 rounded-full', status === 'open' ? 'bg-emerald-500/60' : status === 'connecting' ? 'bg-amber-500/70' : 'bg-slate-600')} />
            {status === 'open' ? 'Live feed connected, waiting for quotes' : status === 'connecting' ? 'Connecting to live feed…' : 'Live feed offline'}
          </span>
        )}
      </div>
    </section>
  );
}
