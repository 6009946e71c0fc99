import { createChart, LineSeries, type IChartApi, type ISeriesApi, type LineWidth, type Time, type UTCTimestamp } from 'lightweight-charts';
import { useEffect, useRef } from 'react';
import { CHART_THEME } from '@/lib/chart-theme';

export interface Line {
  title: string;
  color: string;
  /** Dates (`YYYY-MM-DD`) or, with `intraday`, seconds since the epoch. */
  points: { time: string | number; value: number }[];
}

/** Lines over dates, or over minutes with `intraday` (one series per line, created once; their data follows the props). */
export function LineChart({
  lines,
  testId,
  intraday = false,
  labels = true,
  className = 'h-56 w-full',
}: {
  lines: Line[];
  testId: string;
  intraday?: boolean;
  /** Each line's last value on the price scale (off for many small lines: the legend names them). */
  labels?: boolean;
  className?: string;
}) {
  const containerRef = useRef<HTMLDivElement | null>(null);
  const chartRef = useRef<IChartApi | null>(null);
  const seriesRef = useRef<Map<string, ISeriesApi<'Line'>>>(new Map());
  const titles = lines.map((l) => `${l.title}|${l.color}`).join(',');

  useEffect(() => {
    const el = containerRef.current;
    if (!el) return;
    const chart = createChart(el, { ...CHART_THEME, timeScale: { borderColor: '#1e293b', timeVisible: intraday, secondsVisible: false } });
    const series = new Map<string, ISeriesApi<'Line'>>();
    for (const [i, key] of titles.split(',').entries()) {
      const [title = '', color = ''] = key.split('|');
      const style: { lineWidth: LineWidth; lastValueVisible?: boolean; priceLineVisible?: boolean } = labels
        ? { lineWidth: i === 0 ? 2 : 1 }
        : { lineWidth: 1, lastValueVisible: false, priceLineVisible: false };
      series.set(title, chart.addSeries(LineSeries, { color, title, ...style }));
    }
    chartRef.current = chart;
    seriesRef.current = series;
    return () => {
      chart.remove();
      chartRef.current = null;
      seriesRef.current = new Map();
    };
  }, [titles, intraday, labels]);

  useEffect(() => {
    for (const line of lines) {
      seriesRef.current.get(line.title)?.setData(line.points.map((p) => ({ time: (typeof p.time === 'number' ? (p.time as UTCTimestamp) : p.time) as Time, value: p.value })));
    }
    chartRef.current?.timeScale().fitContent();
  }, [lines]);

  return <div ref={containerRef} data-testid={testId} className={className} />;
}
