import { useEffect, useState } from 'react';
import { useNavigate, useParams } from 'react-router-dom';
import { ErrorAlert } from '@/components/ui/error-alert';
import { Spinner } from '@/components/ui/spinner';
import { useSharedScreen, useSharedScreenRun } from '@/features/saved-screens/api/get-shared-screen';
import { Pagination, ResultCount } from '@/features/screener/components/results-chrome';
import { ResultsTable } from '@/features/screener/components/results-table';
import { PAGE_SIZE } from '@/features/screener/stores/filter-model';
import type { SortOrder } from '@/types';
import { useOpenScreen } from './screener';

/** A screen someone shared by link: read-only, with its results; "Open in screener" makes an editable copy. */
export function SharedScreenRoute() {
  const { token = '' } = useParams();
  const [page, setPage] = useState(0);
  const screen = useSharedScreen(token);
  const run = useSharedScreenRun(token, { limit: PAGE_SIZE, offset: page * PAGE_SIZE }, screen.isSuccess);
  const openScreen = useOpenScreen();
  const navigate = useNavigate();

  useEffect(() => {
    document.title = `${screen.data?.name ?? 'Shared screen'} · Stockscreen`;
  }, [screen.data?.name]);

  if (screen.isPending) {
    return (
      <div className="flex items-center justify-center gap-2 py-24 text-slate-400" role="status">
        <Spinner /> Loading the shared screen…
      </div>
    );
  }
  if (screen.isError) {
    return (
      <div className="mx-auto max-w-lg px-4 py-16">
        <ErrorAlert title="This shared screen is not available" error={screen.error} />
        <p className="mt-3 text-slate-400">The link may have been revoked by its owner, or the screen deleted.</p>
      </div>
    );
  }

  const s = screen.data;
  const data = run.data;
  const total = data?.count ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  return (
    <div className="mx-auto flex w-full max-w-[1400px] flex-col gap-4 px-4 py-4">
      <section className="card flex flex-wrap items-start gap-3 px-4 py-3" aria-labelledby="shared-title" data-testid="shared-screen">
        <div className="min-w-0 flex-1">
          <p className="text-[11px] font-medium uppercase tracking-wide text-slate-500">Shared screen · read-only</p>
          <h1 id="shared-title" className="text-lg font-semibold text-slate-50">
            {s.name}
          </h1>
          {s.description && <p className="mt-0.5 text-slate-400">{s.description}</p>}
          <code className="mt-1 block break-words font-mono text-xs text-sky-200">{s.query || 'every stock'}</code>
          <p className="mt-1 text-xs text-slate-500">
            Sorted by {s.sort} ({s.order === 'asc' ? 'ascending' : 'descending'})
          </p>
        </div>
        <button
          type="button"
          className="btn-secondary"
          onClick={() => {
            openScreen(s);
            navigate('/');
          }}
        >
          Open in screener
        </button>
      </section>

      <section className="card overflow-hidden" aria-label="Results">
        <div className="flex items-center gap-3 border-b border-slate-800 px-3 py-2">
          <h2 className="text-sm font-semibold text-slate-100">Results</h2>
          <ResultCount count={data?.count} isError={run.isError} />
          {run.isFetching && <Spinner />}
          {data?.as_of && <span className="ml-auto text-xs text-slate-500">Data as of {data.as_of}</span>}
        </div>
        {run.isError && (
          <div className="p-3">
            <ErrorAlert title="The screen could not be run" error={run.error} onRetry={() => void run.refetch()} />
          </div>
        )}
        {data && (
          <>
            <ResultsTable
              rows={data.data}
              sort={s.sort}
              order={s.order as SortOrder}
              offset={page * PAGE_SIZE}
              dimmed={run.isPlaceholderData}
              explain={data.query ? { query: data.query, asOf: data.as_of } : null}
            />
            <div className="flex justify-end border-t border-slate-800 px-3 py-2 text-xs text-slate-400">
              <Pagination page={page} pages={pages} onPage={setPage} />
            </div>
          </>
        )}
      </section>
    </div>
  );
}
