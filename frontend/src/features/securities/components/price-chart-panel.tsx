import * as Tabs from '@radix-ui/react-tabs';
import * as ToggleGroup from '@radix-ui/react-toggle-group';
import { useMemo, useState } from 'react';
import { ErrorAlert } from '@/components/ui/error-alert';
import { Spinner } from '@/components/ui/spinner';
import { useLiveQuote } from '@/features/live/use-live-quote';
import { formatPrice } from '@/lib/format';
import type { BarInterval } from '@/types';
import { useBars } from '../api/get-bars';
import { useIntraday, type MarketSession } from '../api/get-intraday';
import { foldDay, fromApi, fromBars, isIntraday, type Candle, type IntradayTimeframe, type Timeframe } from '../model/candles';
import { parsePeriods, useChartPrefs, type ChartPrefs } from '../model/chart-prefs';
import { bollinger, ema, macd, rsi, sma } from '../model/indicators';
import { useLiveCandles } from '../model/use-live-candles';
import { PriceChart, type ChartRange, type Overlay, type Panes } from './price-chart';

const TIMEFRAMES: { value: Timeframe; label: string; title: string }[] = [
  { value: '1m', label: '1m', title: 'One-minute candles (live)' },
  { value: '5m', label: '5m', title: 'Five-minute candles (live)' },
  { value: '1d', label: '1D', title: 'Daily bars (today live)' },
  { value: '1w', label: '1W', title: 'Weekly bars' },
  { value: '1mo', label: '1M', title: 'Monthly bars' },
];
const RANGES: ChartRange[] = ['6M', '1Y', '5Y', 'ALL'];
const SMA_COLORS = ['#f59e0b', '#38bdf8', '#e879f9', '#a3e635'];
const EMA_COLORS = ['#fb7185', '#2dd4bf', '#facc15', '#818cf8'];
const EMPTY: Candle[] = [];

const AT = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York',
  weekday: 'short',
  month: 'short',
  day: 'numeric',
  hour: 'numeric',
  minute: '2-digit',
});

function atText(iso: string | null | undefined): string | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : `${AT.format(d)} ET`;
}

/** "Market closed, last price at ..." while the regular session is not running. */
export function MarketClosedNote({ session }: { session: MarketSession }) {
  if (session.is_open) return null;
  const at = atText(session.last_price_at);
  const opens = atText(session.next_open);
  return (
    <p data-testid="market-closed" role="status" className="border-b border-slate-800 bg-slate-900/60 px-3 py-1.5 text-xs text-slate-400">
      <span className="font-medium text-amber-300">Market closed</span>
      {session.reason ? ` (${session.reason})` : ''}
      {at ? (
        <>
          , last price <span className="tabular text-slate-200">{formatPrice(session.last_price)}</span> at{' '}
          <span className="tabular text-slate-200">{at}</span>
        </>
      ) : (
        ', no price yet'
      )}
      {opens ? ` · opens ${opens}` : ''}
    </p>
  );
}

function PeriodsInput({ label, periods, onChange }: { label: string; periods: number[]; onChange: (p: number[]) => void }) {
  const [text, setText] = useState<string | null>(null);
  const commit = () => {
    if (text === null) return;
    const parsed = parsePeriods(text);
    if (parsed) onChange(parsed);
    setText(null);
  };
  return (
    <input
      className="input h-6 w-24 px-1.5 text-xs"
      aria-label={`${label} periods`}
      data-testid={`${label.toLowerCase()}-periods`}
      value={text ?? periods.join(', ')}
      onChange={(e) => setText(e.target.value)}
      onBlur={commit}
      onKeyDown={(e) => {
        if (e.key === 'Enter') commit();
      }}
    />
  );
}

function Toggle({ id, label, on, onChange, title }: { id: string; label: string; on: boolean; onChange: (on: boolean) => void; title: string }) {
  return (
    <button
      type="button"
      className="seg-item border border-slate-700"
      data-state={on ? 'on' : 'off'}
      aria-pressed={on}
      title={title}
      data-testid={`toggle-${id}`}
      onClick={() => onChange(!on)}
    >
      {label}
    </button>
  );
}

function IndicatorBar({ prefs, update }: { prefs: ChartPrefs; update: (c: Partial<ChartPrefs>) => void }) {
  return (
    <div className="flex flex-wrap items-center gap-2 border-b border-slate-800 px-3 py-1.5 text-xs text-slate-400" aria-label="Indicators" role="group">
      <Toggle id="sma" label="SMA" title="Simple moving averages" on={prefs.sma.on} onChange={(on) => update({ sma: { ...prefs.sma, on } })} />
      {prefs.sma.on && <PeriodsInput label="SMA" periods={prefs.sma.periods} onChange={(periods) => update({ sma: { on: true, periods } })} />}
      <Toggle id="ema" label="EMA" title="Exponential moving averages" on={prefs.ema.on} onChange={(on) => update({ ema: { ...prefs.ema, on } })} />
      {prefs.ema.on && <PeriodsInput label="EMA" periods={prefs.ema.periods} onChange={(periods) => update({ ema: { on: true, periods } })} />}
      <Toggle id="bollinger" label="BB 20 2" title="Bollinger bands (20, 2)" on={prefs.bollinger} onChange={(bollinger) => update({ bollinger })} />
      <span className="mx-1 h-4 w-px bg-slate-700" />
      <Toggle id="rsi" label="RSI 14" title="Relative strength index pane" on={prefs.rsi} onChange={(on) => update({ rsi: on })} />
      <Toggle id="macd" label="MACD" title="MACD (12, 26, 9) pane" on={prefs.macd} onChange={(on) => update({ macd: on })} />
    </div>
  );
}

function useIndicators(candles: readonly Candle[], prefs: ChartPrefs): { overlays: Overlay[]; panes: Panes } {
  return useMemo(() => {
    const close = candles.map((c) => c.close);
    const overlays: Overlay[] = [];
    if (prefs.sma.on)
      prefs.sma.periods.forEach((n, i) => overlays.push({ id: `sma${n}`, label: `SMA ${n}`, color: SMA_COLORS[i % SMA_COLORS.length]!, values: sma(close, n) }));
    if (prefs.ema.on)
      prefs.ema.periods.forEach((n, i) => overlays.push({ id: `ema${n}`, label: `EMA ${n}`, color: EMA_COLORS[i % EMA_COLORS.length]!, values: ema(close, n) }));
    if (prefs.bollinger) {
      const bb = bollinger(close, 20, 2);
      overlays.push({ id: 'bb_upper', label: 'BB up', color: '#94a3b8', values: bb.upper, dashed: true });
      overlays.push({ id: 'bb_lower', label: 'BB low', color: '#94a3b8', values: bb.lower, dashed: true });
    }
    const panes: Panes = {};
    if (prefs.rsi) panes.rsi = rsi(close, 14);
    if (prefs.macd) panes.macd = macd(close, 12, 26, 9);
    return { overlays, panes };
  }, [candles, prefs]);
}

export function PriceChartPanel({ symbol }: { symbol: string }) {
  const [prefs, update] = useChartPrefs();
  const timeframe = prefs.timeframe;
  const intraday = isIntraday(timeframe);
  const [range, setRange] = useState<ChartRange>('1Y');
  // All daily bars are loaded once per interval; the range only moves the visible window, so the user can
  // still scroll back in time. Intraday candles: the minute bars kept (30 days); both move with live ticks.
  const bars = useBars({ symbol, interval: intraday ? '1d' : (timeframe as BarInterval), limit: 5000 }, { enabled: !intraday });
  const intradayQuery = useIntraday({ symbol, interval: intraday ? (timeframe as IntradayTimeframe) : '5m' });
  const { quote } = useLiveQuote(symbol);

  const intradayCandles = useMemo(() => fromApi(intradayQuery.data?.data ?? []), [intradayQuery.data]);
  const dailyCandles = useMemo(() => (bars.data ? fromBars(bars.data.data) : EMPTY), [bars.data]);
  const base = intraday ? intradayCandles : dailyCandles;
  const dayOpen = useMemo(() => (day: string) => foldDay(intradayCandles, day), [intradayCandles]);
  const session = intradayQuery.data?.session;
  const candles = useLiveCandles(base, timeframe, quote, dayOpen, session?.feed === 'replay');
  const { overlays, panes } = useIndicators(candles, prefs);

  const query = intraday ? intradayQuery : bars;
  const first = candles[0];
  const last = candles[candles.length - 1];

  return (
    <section className="card flex min-w-0 flex-col" aria-label="Price chart" data-testid="chart-panel" data-timeframe={timeframe}>
      <div className="flex flex-wrap items-center gap-3 border-b border-slate-800 px-3 py-2">
        <Tabs.Root value={timeframe} onValueChange={(v) => update({ timeframe: v as Timeframe })}>
          <Tabs.List className="seg" aria-label="Timeframe">
            {TIMEFRAMES.map((i) => (
              <Tabs.Trigger key={i.value} value={i.value} className="seg-item" title={i.title} data-testid={`interval-${i.value}`}>
                {i.label}
              </Tabs.Trigger>
            ))}
          </Tabs.List>
        </Tabs.Root>
        {!intraday && (
          <ToggleGroup.Root type="single" value={range} onValueChange={(v) => v && setRange(v as ChartRange)} className="seg" aria-label="Visible range">
            {RANGES.map((r) => (
              <ToggleGroup.Item key={r} value={r} className="seg-item" data-testid={`range-${r}`}>
                {r === 'ALL' ? 'All' : r}
              </ToggleGroup.Item>
            ))}
          </ToggleGroup.Root>
        )}
        {query.isFetching && <Spinner />}
        {first && last && (
          <span className="ml-auto text-[11px] text-slate-500" data-testid="candle-count">
            {candles.length.toLocaleString('en-US')} {intraday ? 'candles' : 'bars'}
            {!intraday && ` · ${String(first.time)} → ${String(last.time)}`}
          </span>
        )}
      </div>
      <IndicatorBar prefs={prefs} update={update} />
      {session && <MarketClosedNote session={session} />}
      <div className={panes.rsi && panes.macd ? 'relative h-[680px] p-1' : panes.rsi || panes.macd ? 'relative h-[580px] p-1' : 'relative h-[480px] p-1'}>
        {query.isError ? (
          <div className="p-3">
            <ErrorAlert title="Could not load price history" error={query.error} onRetry={() => void query.refetch()} />
          </div>
        ) : query.isPending ? (
          <div className="flex h-full items-center justify-center gap-2 text-slate-400">
            <Spinner /> Loading chart…
          </div>
        ) : candles.length === 0 ? (
          <div className="flex h-full items-center justify-center text-slate-500" data-testid="no-candles">
            {intraday ? `No intraday prices for ${symbol} yet: candles appear as live quotes arrive.` : `No price history for ${symbol}.`}
          </div>
        ) : (
          <PriceChart candles={candles} intraday={intraday} range={range} overlays={overlays} panes={panes} />
        )}
      </div>
    </section>
  );
}
