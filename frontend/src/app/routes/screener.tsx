import { useEffect, useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useFields } from '@/api/get-fields';
import { SavedScreensPanel } from '@/features/saved-screens/components/saved-screens-panel';
import type { SavedScreen } from '@/features/saved-screens/api/keys';
import { FilterBuilder } from '@/features/screener/components/filter-builder';
import { ResultsPanel } from '@/features/screener/components/results-panel';
import { symbolOf } from '@/features/screener/components/results-table';
import { selectScreenDefinition, useScreenerStore } from '@/features/screener/stores/screener-store';
import { AddToWatchlist } from '@/features/watchlists/components/add-to-watchlist';

/** Opening a saved screen loads it into the builder (or as query text) and runs it. */
export function useOpenScreen() {
  const fields = useFields();
  const loadScreen = useScreenerStore((s) => s.loadScreen);
  return (screen: Pick<SavedScreen, 'query' | 'ast' | 'sort' | 'order'> & { id?: string }) =>
    loadScreen(screen, fields.data?.data ?? []);
}

export function ScreenerRoute() {
  useEffect(() => {
    document.title = 'Screener · Stockscreen';
  }, []);
  const { applied, appliedQuery, sort, order, openScreenId } = useScreenerStore(
    useShallow((s) => ({ applied: s.applied, appliedQuery: s.appliedQuery, sort: s.sort, order: s.order, openScreenId: s.openScreenId })),
  );
  const draft = useMemo(() => selectScreenDefinition({ applied, appliedQuery, sort, order }), [applied, appliedQuery, sort, order]);
  const openScreen = useOpenScreen();

  return (
    <div className="mx-auto grid w-full max-w-[1400px] gap-4 px-4 py-4 xl:grid-cols-[16rem_minmax(0,1fr)]">
      <SavedScreensPanel className="xl:sticky xl:top-16 xl:self-start" draft={draft} activeId={openScreenId} onOpen={openScreen} />
      <div className="flex min-w-0 flex-col gap-4">
        <FilterBuilder />
        <ResultsPanel rowAction={(row) => <AddToWatchlist symbol={symbolOf(row)} compact />} />
      </div>
    </div>
  );
}
