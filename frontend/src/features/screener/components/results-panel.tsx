import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { ErrorAlert } from '@/components/ui/error-alert';
import { Spinner } from '@/components/ui/spinner';
import { OP_LABELS, PAGE_SIZE, type ScreenFilter } from '../stores/filter-model';
import { selectScreenRequest, useScreenerStore } from '../stores/screener-store';
import { useRunScreen } from '../api/run-screen';
import { ALL_ROWS_MAX, downloadScreenCsv, useAllRows } from '../api/all-rows';
import { useFields } from '@/api/get-fields';
import { Pagination, ResultCount } from './results-chrome';
import { ResultsTable } from './results-table';
import { formatByUnit } from '@/lib/format';
import type { ScreenRow, ScreenerField } from '@/types';

function describeFilter(filter: ScreenFilter, field: ScreenerField | undefined): string {
  const label = field?.label ?? filter.field;
  const fmt = (v: unknown) => formatByUnit(v, field?.unit);
  if (filter.op === 'between' && Array.isArray(filter.value)) return `${label} ${fmt(filter.value[0])}–${fmt(filter.value[1])}`;
  if (filter.op === 'in' && Array.isArray(filter.value)) return `${label}: ${filter.value.join(', ')}`;
  return `${label} ${OP_LABELS[filter.op]} ${fmt(filter.value)}`;
}

/** `rowAction`: a control at the end of each result row (the route supplies it). */
export function ResultsPanel({ rowAction }: { rowAction?: (row: ScreenRow) => React.ReactNode } = {}) {
  const { applied, appliedQuery, sort, order, page } = useScreenerStore(
    useShallow((s) => ({ applied: s.applied, appliedQuery: s.appliedQuery, sort: s.sort, order: s.order, page: s.page })),
  );
  const toggleSort = useScreenerStore((s) => s.toggleSort);
  const setPage = useScreenerStore((s) => s.setPage);
  const request = selectScreenRequest({ applied, appliedQuery, sort, order, page });
  const [showAll, setShowAll] = useState(false);
  const [exporting, setExporting] = useState<string | null>(null);
  const paged = useRunScreen(request);
  const all = useAllRows(request, showAll);
  const query = showAll ? all : paged;
  const fields = useFields();
  const fieldsById = new Map((fields.data?.data ?? []).map((f) => [f.id, f]));

  const exportCsv = () => {
    setExporting('Exporting…');
    downloadScreenCsv(request, (rows, total) => setExporting(`Exporting ${rows.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}…`))
      .catch(() => setExporting('Export failed'))
      .finally(() => setTimeout(() => setExporting(null), 1500));
  };

  const data = query.data;
  const total = data?.count ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const start = showAll ? 0 : request.offset;
  const from = total === 0 ? 0 : start + 1;
  const to = Math.min(start + (data?.data.length ?? 0), total);

  return (
    <section className="card overflow-hidden" aria-label="Results">
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1 border-b border-slate-800 px-3 py-2">
        <h2 className="text-sm font-semibold text-slate-100">Results</h2>
        <ResultCount count={data?.count} isError={query.isError} />
        {query.isFetching && <Spinner />}
        <div className="flex min-w-0 flex-wrap items-center gap-1">
          {applied.map((f, i) => (
            <span key={i} className="chip border-sky-900 bg-sky-950/50 text-sky-200">
              {describeFilter(f, fieldsById.get(f.field))}
            </span>
          ))}
          {appliedQuery && (
            <span className="chip max-w-full border-sky-900 bg-sky-950/50 font-mono text-sky-200" title={appliedQuery}>
              <span className="truncate">{appliedQuery}</span>
            </span>
          )}
        </div>
        {data?.as_of && <span className="ml-auto text-xs text-slate-500">Data as of {data.as_of}</span>}
        <div className="flex items-center gap-2 text-xs">
          <button
            type="button"
            data-testid="show-all"
            aria-pressed={showAll}
            title={`List every match in one scrolling table (up to ${ALL_ROWS_MAX.toLocaleString('en-US')})`}
            onClick={() => setShowAll((v) => !v)}
            className="rounded border border-slate-700 px-2 py-1 text-slate-300 hover:text-slate-100"
          >
            {showAll ? 'Pages' : 'Show all'}
          </button>
          <button
            type="button"
            data-testid="export-csv"
            disabled={exporting !== null || !data || data.count === 0}
            onClick={exportCsv}
            className="rounded border border-slate-700 px-2 py-1 text-slate-300 hover:text-slate-100 disabled:opacity-50"
          >
            {exporting ?? 'Export CSV'}
          </button>
        </div>
      </div>

      {query.isError && (
        <div className="p-3">
          <ErrorAlert title="The screen could not be run" error={query.error} onRetry={() => void query.refetch()} />
        </div>
      )}

      {query.isPending && (
        <div className="flex items-center justify-center gap-2 py-16 text-slate-400">
          <Spinner /> Running screen…
        </div>
      )}

      {data && (
        <>
          {data.data.length === 0 ? (
            <div className="py-16 text-center text-slate-400">
              <p className="font-medium text-slate-300">No stocks match these filters.</p>
              <p className="mt-1 text-slate-500">Loosen a filter or remove one and run the screen again.</p>
            </div>
          ) : (
            <ResultsTable
              rows={data.data}
              sort={sort}
              order={order}
              onSort={toggleSort}
              offset={showAll ? 0 : request.offset}
              dimmed={query.isPlaceholderData}
              explain={data.query ? { query: data.query, asOf: data.as_of } : null}
              rowAction={rowAction}
            />
          )}
          <div className="flex items-center justify-between gap-3 border-t border-slate-800 px-3 py-2 text-xs text-slate-400">
            <span className="tabular">
              {total > 0 ? `Showing ${from.toLocaleString('en-US')}–${to.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}` : ''}
            </span>
            {!showAll && <Pagination page={page} pages={pages} onPage={setPage} />}
          </div>
        </>
      )}
    </section>
  );
}
