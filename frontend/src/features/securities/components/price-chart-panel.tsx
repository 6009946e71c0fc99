import * as Tabs from '@radix-ui/react-tabs';
import * as ToggleGroup from '@radix-ui/react-toggle-group';
import { useState } from 'react';
import { ErrorAlert } from '@/components/ui/error-alert';
import { Spinner } from '@/components/ui/spinner';
import type { BarInterval } from '@/types';
import { useBars } from '../api/get-bars';
import { PriceChart, type ChartRange } from './price-chart';

const INTERVALS: { value: BarInterval; label: string; title: string }[] = [
  { value: '1d', label: '1D', title: 'Daily bars' },
  { value: '1w', label: '1W', title: 'Weekly bars' },
  { value: '1mo', label: '1M', title: 'Monthly bars' },
];
const RANGES: ChartRange[] = ['6M', '1Y', '5Y', 'ALL'];

export function PriceChartPanel({ symbol }: { symbol: string }) {
  const [interval, setInterval] = useState<BarInterval>('1d');
  const [range, setRange] = useState<ChartRange>('1Y');
  // All bars are loaded once per interval; the range only moves the visible window,
  // so the user can still scroll back in time.
  const bars = useBars({ symbol, interval, limit: 5000 });
  const data = bars.data?.data ?? [];

  return (
    <section className="card flex min-w-0 flex-col" aria-label="Price chart">
      <div className="flex flex-wrap items-center gap-3 border-b border-slate-800 px-3 py-2">
        <Tabs.Root value={interval} onValueChange={(v) => setInterval(v as BarInterval)}>
          <Tabs.List className="seg" aria-label="Bar interval">
            {INTERVALS.map((i) => (
              <Tabs.Trigger key={i.value} value={i.value} className="seg-item" title={i.title} data-testid={`interval-${i.value}`}>
                {i.label}
              </Tabs.Trigger>
            ))}
          </Tabs.List>
        </Tabs.Root>
        <ToggleGroup.Root
          type="single"
          value={range}
          onValueChange={(v) => v && setRange(v as ChartRange)}
          className="seg"
          aria-label="Visible range"
        >
          {RANGES.map((r) => (
            <ToggleGroup.Item key={r} value={r} className="seg-item" data-testid={`range-${r}`}>
              {r === 'ALL' ? 'All' : r}
            </ToggleGroup.Item>
          ))}
        </ToggleGroup.Root>
        {bars.isFetching && <Spinner />}
        {data.length > 0 && (
          <span className="ml-auto text-[11px] text-slate-500">
            {data.length.toLocaleString('en-US')} bars · {data[0]?.date} → {data[data.length - 1]?.date}
          </span>
        )}
      </div>
      <div className="relative h-[480px] p-1">
        {bars.isError ? (
          <div className="p-3">
            <ErrorAlert title="Could not load price history" error={bars.error} onRetry={() => void bars.refetch()} />
          </div>
        ) : bars.isPending ? (
          <div className="flex h-full items-center justify-center gap-2 text-slate-400">
            <Spinner /> Loading chart…
          </div>
        ) : data.length === 0 ? (
          <div className="flex h-full items-center justify-center text-slate-500">No price history for {symbol}.</div>
        ) : (
          <PriceChart bars={data} range={range} />
        )}
      </div>
    </section>
  );
}
