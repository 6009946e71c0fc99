import { useQueryClient } from '@tanstack/react-query';
import { useMemo, type FormEvent } from 'react';
import { ErrorAlert } from '@/components/ui/error-alert';
import { cn } from '@/lib/cn';
import type { ScreenerField } from '@/types/api';
import { useFields } from '@/api/get-fields';
import { screenKeys } from '../api/run-screen';
import { PRESETS } from '../stores/filter-model';
import { selectScreenRequest, useScreenerStore } from '../stores/screener-store';
import { FilterRowEditor } from './filter-row-editor';

export function FilterBuilder() {
  const fieldsQuery = useFields();
  const rows = useScreenerStore((s) => s.rows);
  const activePreset = useScreenerStore((s) => s.activePreset);
  const addRow = useScreenerStore((s) => s.addRow);
  const clearRows = useScreenerStore((s) => s.clearRows);
  const applyPreset = useScreenerStore((s) => s.applyPreset);
  const appliedQuery = useScreenerStore((s) => s.appliedQuery);
  const clearQuery = useScreenerStore((s) => s.clearQuery);
  const queryClient = useQueryClient();

  const fields: ScreenerField[] = useMemo(() => fieldsQuery.data?.data ?? [], [fieldsQuery.data]);
  const fieldsById = useMemo(() => new Map(fields.map((f) => [f.id, f])), [fields]);

  const onRun = (event?: FormEvent) => {
    event?.preventDefault();
    const store = useScreenerStore.getState();
    const before = JSON.stringify(selectScreenRequest(store));
    if (!store.run()) return;
    const request = selectScreenRequest(useScreenerStore.getState());
    // Same request as what is on screen: fetch fresh results anyway.
    if (JSON.stringify(request) === before) void queryClient.invalidateQueries({ queryKey: screenKeys.run(request) });
  };

  return (
    <section className="card" aria-labelledby="filters-heading">
      <form onSubmit={onRun} noValidate>
        <div className="flex flex-wrap items-center gap-2 border-b border-slate-800 px-3 py-2">
          <h2 id="filters-heading" className="mr-2 text-sm font-semibold text-slate-100">
            Filters
          </h2>
          <div className="flex flex-wrap items-center gap-1.5" role="group" aria-label="Presets">
            {PRESETS.map((preset) => (
              <button
                key={preset.id}
                type="button"
                title={preset.description}
                aria-pressed={activePreset === preset.id}
                data-testid={`preset-${preset.id}`}
                onClick={() => applyPreset(preset.id)}
                className={cn(
                  'h-7 rounded-full border px-3 text-xs font-medium transition-colors',
                  activePreset === preset.id
                    ? 'border-sky-500 bg-sky-500/15 text-sky-200'
                    : 'border-slate-700 text-slate-300 hover:border-slate-500 hover:text-white',
                )}
              >
                {preset.label}
              </button>
            ))}
          </div>
          <div className="ml-auto flex items-center gap-2">
            {rows.length > 0 && (
              <button type="button" className="btn-ghost" onClick={clearRows}>
                Clear
              </button>
            )}
            <button type="button" className="btn-secondary" data-testid="add-filter" onClick={() => addRow()}>
              <span aria-hidden="true">+</span> Add filter
            </button>
            <button type="submit" className="btn-primary" data-testid="run-screen">
              Run screen
            </button>
          </div>
        </div>

        <div className="flex flex-col gap-1.5 px-3 py-2.5">
          {fieldsQuery.isError && <ErrorAlert title="Could not load screener fields" error={fieldsQuery.error} onRetry={() => void fieldsQuery.refetch()} />}
          {appliedQuery && (
            <div className="flex flex-wrap items-start gap-2 rounded-md border border-sky-900/70 bg-sky-950/30 px-3 py-2" data-testid="applied-query">
              <div className="min-w-0 flex-1">
                <p className="text-slate-300">This screen is a query the filter builder cannot show; adding filters replaces it.</p>
                <code className="mt-1 block break-words font-mono text-xs text-sky-200">{appliedQuery}</code>
              </div>
              <button type="button" className="btn-ghost h-7 px-2" onClick={clearQuery}>
                Clear query
              </button>
            </div>
          )}
          {rows.length === 0 ? (
            appliedQuery ? null : (
            <p className="py-1 text-slate-500">
              No filters: showing the whole universe. Pick a preset or{' '}
              <button type="button" className="text-sky-400 hover:underline" onClick={() => addRow()}>
                add a filter
              </button>
              .
            </p>
            )
          ) : (
            rows.map((row) => <FilterRowEditor key={row.id} row={row} fields={fields} fieldsById={fieldsById} />)
          )}
        </div>
      </form>
    </section>
  );
}
