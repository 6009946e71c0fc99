import { useQueryClient } from '@tanstack/react-query';
import { useMemo, type FormEvent } from 'react';
import { ErrorAlert } from '@/components/ui/error-alert';
import { cn } from '@/lib/cn';
import type { ScreenerField } from '@/types';
import { useFields } from '@/api/get-fields';
import { usePresets } from '../api/get-presets';
import { screenKeys } from '../api/run-screen';
import { selectScreenRequest, useScreenerStore } from '../stores/screener-store';
import { FilterRowEditor } from './filter-row-editor';

export function FilterBuilder() {
  const fieldsQuery = useFields();
  const presetsQuery = usePresets();
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
  const presets = presetsQuery.data?.data ?? [];
  const active = presets.find((p) => p.id === activePreset);
  const presetPrompt = presetsQuery.isError ? 'Presets unavailable' : presets.length === 0 ? 'Loading presets…' : 'Choose a preset…';

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
          <div className="flex min-w-0 flex-wrap items-center gap-2">
            {/* the presets are the API's (GET /screens/presets); one opens like a saved screen */}
            <select
              className={cn('select h-7 w-56 text-xs', active && 'border-sky-500 text-sky-200')}
              aria-label="Preset"
              aria-describedby={active ? 'preset-description' : undefined}
              data-testid="preset-select"
              value={activePreset ?? ''}
              disabled={presets.length === 0 || fields.length === 0}
              onChange={(e) => {
                const preset = presets.find((p) => p.id === e.target.value);
                if (preset) applyPreset(preset, fields);
              }}
            >
              <option value="" disabled>
                {presetPrompt}
              </option>
              {presets.map((preset) => (
                <option key={preset.id} value={preset.id} title={preset.description}>
                  {preset.premium ? `${preset.name} (Premium)` : preset.name}
                </option>
              ))}
            </select>
            {active && (
              <span id="preset-description" data-testid="preset-description" className="text-xs text-slate-400">
                {active.description}
              </span>
            )}
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
