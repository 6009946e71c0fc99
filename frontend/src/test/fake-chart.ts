// A stand-in for lightweight-charts (jsdom has no canvas): `vi.mock('lightweight-charts', () => import('@/test/fake-chart'))`.
// It draws a <canvas> and records what the page asks of it.
import { vi } from 'vitest';

export interface FakeSeries {
  type: string;
  pane: number;
  options: Record<string, unknown>;
  data: unknown[];
  setData: (data: unknown[]) => void;
  update: (point: unknown) => void;
  applyOptions: () => void;
}

export const charts: { series: FakeSeries[]; removed: boolean; options: Record<string, unknown> }[] = [];

export function resetCharts() {
  charts.length = 0;
}

/** The live chart (the last one created and not removed). */
export function currentChart() {
  const live = charts.filter((c) => !c.removed);
  return live.at(-1);
}

export const CandlestickSeries = { type: 'Candlestick' };
export const HistogramSeries = { type: 'Histogram' };
export const LineSeries = { type: 'Line' };
export const ColorType = { Solid: 'solid' };
export const CrosshairMode = { Normal: 0 };
export const TickMarkType = { Year: 0, Month: 1, DayOfMonth: 2, Time: 3, TimeWithSeconds: 4 };

export function createChart(el: HTMLElement, options: Record<string, unknown>) {
  el.appendChild(document.createElement('canvas'));
  const record = { series: [] as FakeSeries[], removed: false, options };
  charts.push(record);
  return {
    addSeries: (def: { type: string }, opts: Record<string, unknown> = {}, pane = 0) => {
      const s: FakeSeries = {
        type: def.type,
        pane,
        options: opts,
        data: [],
        setData(data) {
          s.data = [...data];
        },
        update(point) {
          const p = point as { time: unknown };
          const last = s.data.at(-1) as { time: unknown } | undefined;
          if (last && last.time === p.time) s.data[s.data.length - 1] = point;
          else s.data.push(point);
        },
        applyOptions: vi.fn(),
      };
      record.series.push(s);
      return s;
    },
    panes: () => [...new Set([0, ...record.series.map((s) => s.pane)])].map(() => ({ setStretchFactor: vi.fn() })),
    subscribeCrosshairMove: vi.fn(),
    unsubscribeCrosshairMove: vi.fn(),
    timeScale: () => ({ setVisibleRange: vi.fn(), setVisibleLogicalRange: vi.fn(), fitContent: vi.fn() }),
    remove: () => {
      record.removed = true;
    },
  };
}
