import { useEffect } from 'react';
import { FilterBuilder } from '@/features/screener/components/filter-builder';
import { ResultsPanel } from '@/features/screener/components/results-panel';

export function ScreenerRoute() {
  useEffect(() => {
    document.title = 'Screener · Stockscreen';
  }, []);
  return (
    <div className="mx-auto flex w-full max-w-[1400px] flex-col gap-4 px-4 py-4">
      <FilterBuilder />
      <ResultsPanel />
    </div>
  );
}
