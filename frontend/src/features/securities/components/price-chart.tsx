import {
  CandlestickSeries,
  CrosshairMode,
  HistogramSeries,
  LineSeries,
  TickMarkType,
  createChart,
  type IChartApi,
  type ISeriesApi,
  type MouseEventParams,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import { useEffect, useMemo, useRef, useState } from 'react';
import { CHART_THEME } from '@/lib/chart-theme';
import { changeClass, formatCompact, formatPercent, formatPrice } from '@/lib/format';
import type { Candle } from '../model/candles';
import type { Macd, Series } from '../model/indicators';

export type ChartRange = '6M' | '1Y' | '5Y' | 'ALL';

const UP = '#10b981';
const DOWN = '#f43f5e';
/** Candles shown when an intraday chart opens (the rest is a scroll away). */
const INTRADAY_VISIBLE = 150;

/** A line drawn over the candles (SMA, EMA, a Bollinger band). */
export interface Overlay {
  id: string;
  label: string;
  color: string;
  values: Series;
  dashed?: boolean;
}

export interface Panes {
  rsi?: Series;
  macd?: Macd;
}

/** The first date shown for a range, counted back from the last bar (data may be historical). */
export function rangeStart(lastDate: string, range: ChartRange): string | null {
  if (range === 'ALL') return null;
  const months = range === '6M' ? 6 : range === '1Y' ? 12 : 60;
  const d = new Date(`${lastDate}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() - months);
  return d.toISOString().slice(0, 10);
}

const NY_TIME = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit', hour12: false });
const NY_DATE_TIME = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});
const NY_DAY = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', month: 'short', day: 'numeric' });

function timeKey(time: Time | number | string): string {
  if (typeof time === 'string' || typeof time === 'number') return String(time);
  return `${time.year}-${String(time.month).padStart(2, '0')}-${String(time.day).padStart(2, '0')}`;
}

/** A candle's time as text: the date, or the exchange's (New York) date and time of an intraday candle. */
export function candleLabel(time: number | string): string {
  return typeof time === 'number' ? `${NY_DATE_TIME.format(new Date(time * 1000))} ET` : time;
}

function chartTime(time: number | string): Time {
  return (typeof time === 'number' ? (time as UTCTimestamp) : time) as Time;
}

function line(values: Series, candles: readonly Candle[]) {
  const out: { time: Time; value: number }[] = [];
  values.forEach((v, i) => {
    const c = candles[i];
    if (v !== null && c) out.push({ time: chartTime(c.time), value: v });
  });
  return out;
}

interface Handles {
  chart: IChartApi;
  candles: ISeriesApi<'Candlestick'>;
  volume: ISeriesApi<'Histogram'>;
  overlays: Map<string, ISeriesApi<'Line'>>;
  rsi?: ISeriesApi<'Line'>;
  macd?: { line: ISeriesApi<'Line'>; signal: ISeriesApi<'Line'>; hist: ISeriesApi<'Histogram'> };
}

export function PriceChart({
  candles,
  intraday,
  range = 'ALL',
  overlays = [],
  panes = {},
}: {
  candles: readonly Candle[];
  /** candles of minutes (UTC seconds) rather than of days */
  intraday: boolean;
  range?: ChartRange;
  overlays?: readonly Overlay[];
  panes?: Panes;
}) {
  const containerRef = useRef<HTMLDivElement | null>(null);
  const handlesRef = useRef<Handles | null>(null);
  const pushedRef = useRef<readonly Candle[]>([]);
  const [version, setVersion] = useState(0);
  const [hover, setHover] = useState<string | null>(null);

  const byTime = useMemo(() => new Map(candles.map((c, i) => [String(c.time), i])), [candles]);
  // the chart's structure: rebuilt when the overlays or panes shown change, not when their values do
  const layout = `${intraday}|${overlays.map((o) => o.id).join(',')}|${panes.rsi ? 'rsi' : ''}|${panes.macd ? 'macd' : ''}`;

  useEffect(() => {
    const el = containerRef.current;
    if (!el) return;
    const chart = createChart(el, {
      ...CHART_THEME,
      crosshair: { mode: CrosshairMode.Normal },
      timeScale: {
        borderColor: '#1e293b',
        rightOffset: 4,
        minBarSpacing: 0.5,
        timeVisible: intraday,
        secondsVisible: false,
        ...(intraday
          ? {
              tickMarkFormatter: (time: Time, type: TickMarkType) => {
                if (typeof time !== 'number') return null;
                const d = new Date(time * 1000);
                return type === TickMarkType.Time || type === TickMarkType.TimeWithSeconds ? NY_TIME.format(d) : NY_DAY.format(d);
              },
            }
          : {}),
      },
      localization: intraday ? { timeFormatter: (time: Time) => (typeof time === 'number' ? candleLabel(time) : String(time)) } : {},
    });
    const handles: Handles = {
      chart,
      candles: chart.addSeries(CandlestickSeries, {
        upColor: UP,
        downColor: DOWN,
        borderVisible: false,
        wickUpColor: UP,
        wickDownColor: DOWN,
        priceLineColor: '#64748b',
      }),
      volume: chart.addSeries(HistogramSeries, { priceFormat: { type: 'volume' }, priceLineVisible: false, lastValueVisible: false }, 1),
      overlays: new Map(),
    };
    for (const o of overlays) {
      handles.overlays.set(
        o.id,
        chart.addSeries(LineSeries, {
          color: o.color,
          lineWidth: 1,
          lineStyle: o.dashed ? 2 : 0,
          priceLineVisible: false,
          lastValueVisible: false,
          crosshairMarkerVisible: false,
          title: o.label,
        }),
      );
    }
    let pane = 2;
    if (panes.rsi) {
      handles.rsi = chart.addSeries(LineSeries, { color: '#a78bfa', lineWidth: 1, priceLineVisible: false, title: 'RSI 14' }, pane);
      pane += 1;
    }
    if (panes.macd) {
      handles.macd = {
        hist: chart.addSeries(HistogramSeries, { priceLineVisible: false, lastValueVisible: false }, pane),
        line: chart.addSeries(LineSeries, { color: '#38bdf8', lineWidth: 1, priceLineVisible: false, title: 'MACD 12 26' }, pane),
        signal: chart.addSeries(LineSeries, { color: '#f59e0b', lineWidth: 1, priceLineVisible: false, title: 'Signal 9' }, pane),
      };
    }
    const all = chart.panes();
    all[0]?.setStretchFactor(4);
    for (const p of all.slice(1)) p.setStretchFactor(1);

    const onMove = (param: MouseEventParams<Time>) => setHover(param.time ? timeKey(param.time) : null);
    chart.subscribeCrosshairMove(onMove);
    handlesRef.current = handles;
    pushedRef.current = [];
    setVersion((v) => v + 1);
    return () => {
      chart.unsubscribeCrosshairMove(onMove);
      chart.remove();
      handlesRef.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `layout` names what the structure depends on
  }, [layout]);

  // Candles and volume: a tick changes only the last candle (or adds one): drawn with `update`.
  useEffect(() => {
    const h = handlesRef.current;
    if (!h) return;
    const prev = pushedRef.current;
    const last = candles[candles.length - 1];
    const volumeOf = (c: Candle) => ({
      time: chartTime(c.time),
      value: c.volume,
      color: c.close >= c.open ? 'rgba(16, 185, 129, 0.45)' : 'rgba(244, 63, 94, 0.45)',
    });
    const sameStart = prev.length > 1 && (candles.length === prev.length || candles.length === prev.length + 1) && candles[prev.length - 2] === prev[prev.length - 2];
    if (sameStart && last) {
      h.candles.update({ time: chartTime(last.time), open: last.open, high: last.high, low: last.low, close: last.close });
      h.volume.update(volumeOf(last));
    } else {
      h.candles.setData(candles.map((c) => ({ time: chartTime(c.time), open: c.open, high: c.high, low: c.low, close: c.close })));
      h.volume.setData(candles.map(volumeOf));
    }
    pushedRef.current = candles;
  }, [candles, version]);

  // Indicator lines (recomputed from all candles on each change; cheap next to drawing).
  useEffect(() => {
    const h = handlesRef.current;
    if (!h) return;
    for (const o of overlays) h.overlays.get(o.id)?.setData(line(o.values, candles));
    if (h.rsi && panes.rsi) h.rsi.setData(line(panes.rsi, candles));
    if (h.macd && panes.macd) {
      h.macd.line.setData(line(panes.macd.line, candles));
      h.macd.signal.setData(line(panes.macd.signal, candles));
      h.macd.hist.setData(
        line(panes.macd.hist, candles).map((p) => ({ ...p, color: p.value >= 0 ? 'rgba(16, 185, 129, 0.6)' : 'rgba(244, 63, 94, 0.6)' })),
      );
    }
  }, [candles, overlays, panes, version]);

  // The visible window: set when the chart, its timeframe or range changes, never on a tick (the user may
  // have scrolled).
  const firstTime = candles[0]?.time;
  const hasCandles = candles.length > 0;
  useEffect(() => {
    const h = handlesRef.current;
    if (!h || !hasCandles) return;
    const n = pushedRef.current.length;
    const lastCandle = pushedRef.current[n - 1];
    const ts = h.chart.timeScale();
    if (intraday) {
      if (n > INTRADAY_VISIBLE) ts.setVisibleLogicalRange({ from: n - INTRADAY_VISIBLE, to: n + 4 });
      else ts.fitContent();
      return;
    }
    const start = lastCandle ? rangeStart(String(lastCandle.time), range) : null;
    if (!start || start <= String(firstTime)) {
      ts.fitContent();
      return;
    }
    ts.setVisibleRange({ from: start as Time, to: String(lastCandle?.time) as Time });
  }, [range, intraday, firstTime, hasCandles, version]);

  const hoverIndex = hover !== null ? byTime.get(hover) : undefined;
  const shownIndex = hoverIndex ?? candles.length - 1;
  const shown = candles[shownIndex];
  const prevCandle = candles[shownIndex - 1];
  const chg = shown && prevCandle ? ((shown.close - prevCandle.close) / prevCandle.close) * 100 : null;
  const lastCandle = candles[candles.length - 1];

  return (
    <div className="relative h-full w-full">
      {shown && (
        <div className="tabular pointer-events-none absolute left-2 top-1 z-10 flex flex-wrap gap-x-3 text-[11px] text-slate-400">
          <span className="text-slate-300">{candleLabel(shown.time)}</span>
          <span>
            O <span className="text-slate-200">{formatPrice(shown.open)}</span>
          </span>
          <span>
            H <span className="text-slate-200">{formatPrice(shown.high)}</span>
          </span>
          <span>
            L <span className="text-slate-200">{formatPrice(shown.low)}</span>
          </span>
          <span>
            C <span className="text-slate-200">{formatPrice(shown.close)}</span>
          </span>
          {chg !== null && <span className={changeClass(chg)}>{formatPercent(chg, { signed: true })}</span>}
          <span>
            Vol <span className="text-slate-200">{formatCompact(shown.volume)}</span>
          </span>
          {overlays.map((o) => {
            const v = o.values[shownIndex];
            return v === null || v === undefined ? null : (
              <span key={o.id} style={{ color: o.color }}>
                {o.label} {formatPrice(v)}
              </span>
            );
          })}
        </div>
      )}
      {/* The canvas cannot be read by tests: the last candle is also exposed as data attributes. */}
      <div
        ref={containerRef}
        data-testid="price-chart"
        data-candles={candles.length}
        data-last-time={lastCandle ? (typeof lastCandle.time === 'number' ? new Date(lastCandle.time * 1000).toISOString() : lastCandle.time) : undefined}
        data-last-open={lastCandle?.open}
        data-last-high={lastCandle?.high}
        data-last-low={lastCandle?.low}
        data-last-close={lastCandle?.close}
        data-overlays={overlays.map((o) => o.id).join(' ')}
        data-panes={[panes.rsi ? 'rsi' : '', panes.macd ? 'macd' : ''].filter(Boolean).join(' ')}
        className="h-full w-full"
      />
    </div>
  );
}
