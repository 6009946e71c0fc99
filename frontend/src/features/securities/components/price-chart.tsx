import {
  CandlestickSeries,
  CrosshairMode,
  HistogramSeries,
  createChart,
  type IChartApi,
  type ISeriesApi,
  type MouseEventParams,
  type Time,
} from 'lightweight-charts';
import { useEffect, useMemo, useRef, useState } from 'react';
import { CHART_THEME } from '@/lib/chart-theme';
import { changeClass, formatCompact, formatPercent, formatPrice } from '@/lib/format';
import type { Bar } from '@/types';

export type ChartRange = '6M' | '1Y' | '5Y' | 'ALL';

const UP = '#10b981';
const DOWN = '#f43f5e';

/** The first date shown for a range, counted back from the last bar (data may be historical). */
export function rangeStart(lastDate: string, range: ChartRange): string | null {
  if (range === 'ALL') return null;
  const months = range === '6M' ? 6 : range === '1Y' ? 12 : 60;
  const d = new Date(`${lastDate}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() - months);
  return d.toISOString().slice(0, 10);
}

function timeToString(time: Time): string {
  if (typeof time === 'string') return time;
  if (typeof time === 'number') return new Date(time * 1000).toISOString().slice(0, 10);
  return `${time.year}-${String(time.month).padStart(2, '0')}-${String(time.day).padStart(2, '0')}`;
}

export function PriceChart({ bars, range }: { bars: Bar[]; range: ChartRange }) {
  const containerRef = useRef<HTMLDivElement | null>(null);
  const chartRef = useRef<IChartApi | null>(null);
  const candlesRef = useRef<ISeriesApi<'Candlestick'> | null>(null);
  const volumeRef = useRef<ISeriesApi<'Histogram'> | null>(null);
  const [hoverDate, setHoverDate] = useState<string | null>(null);

  const byDate = useMemo(() => new Map(bars.map((b) => [b.date, b])), [bars]);

  // Create the chart once.
  useEffect(() => {
    const el = containerRef.current;
    if (!el) return;
    const chart = createChart(el, {
      ...CHART_THEME,
      crosshair: { mode: CrosshairMode.Normal },
      timeScale: { borderColor: '#1e293b', rightOffset: 4, minBarSpacing: 0.5 },
    });
    const candles = chart.addSeries(CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      borderVisible: false,
      wickUpColor: UP,
      wickDownColor: DOWN,
      priceLineColor: '#64748b',
    });
    const volume = chart.addSeries(
      HistogramSeries,
      { priceFormat: { type: 'volume' }, priceLineVisible: false, lastValueVisible: false },
      1,
    );
    const panes = chart.panes();
    panes[0]?.setStretchFactor(4);
    panes[1]?.setStretchFactor(1);

    const onMove = (param: MouseEventParams<Time>) => {
      setHoverDate(param.time ? timeToString(param.time) : null);
    };
    chart.subscribeCrosshairMove(onMove);

    chartRef.current = chart;
    candlesRef.current = candles;
    volumeRef.current = volume;
    return () => {
      chart.unsubscribeCrosshairMove(onMove);
      chart.remove();
      chartRef.current = null;
      candlesRef.current = null;
      volumeRef.current = null;
    };
  }, []);

  // Push data.
  useEffect(() => {
    candlesRef.current?.setData(bars.map((b) => ({ time: b.date, open: b.open, high: b.high, low: b.low, close: b.close })));
    volumeRef.current?.setData(
      bars.map((b) => ({
        time: b.date,
        value: b.volume ?? 0,
        color: b.close >= b.open ? 'rgba(16, 185, 129, 0.45)' : 'rgba(244, 63, 94, 0.45)',
      })),
    );
  }, [bars]);

  // Apply the visible range.
  useEffect(() => {
    const chart = chartRef.current;
    const last = bars[bars.length - 1];
    const first = bars[0];
    if (!chart || !last || !first) return;
    const start = rangeStart(last.date, range);
    if (!start || start <= first.date) {
      chart.timeScale().fitContent();
      return;
    }
    chart.timeScale().setVisibleRange({ from: start, to: last.date });
  }, [bars, range]);

  const shown = (hoverDate ? byDate.get(hoverDate) : undefined) ?? bars[bars.length - 1];
  const prev = shown ? bars[bars.findIndex((b) => b.date === shown.date) - 1] : undefined;
  const chg = shown && prev ? ((shown.close - prev.close) / prev.close) * 100 : null;

  return (
    <div className="relative h-full w-full">
      {shown && (
        <div className="tabular pointer-events-none absolute left-2 top-1 z-10 flex flex-wrap gap-x-3 text-[11px] text-slate-400">
          <span className="text-slate-300">{shown.date}</span>
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
        </div>
      )}
      <div ref={containerRef} data-testid="price-chart" className="h-full w-full" />
    </div>
  );
}
