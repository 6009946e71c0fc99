import { useRef, useState } from 'react';
import { NavLink, useNavigate } from 'react-router-dom';
import { SymbolCombobox } from '@/components/symbol-combobox';
import { ErrorAlert } from '@/components/ui/error-alert';
import { CollectionDialogs, useCollectionDialog } from '@/components/ui/collection-dialogs';
import { ReorderButtons, useMoveFocus, type MoveDirection } from '@/components/ui/reorder-buttons';
import { Spinner } from '@/components/ui/spinner';
import { MAX_SYMBOLS_PER_CONNECTION } from '@/features/live/live-socket';
import { useLiveQuotes } from '@/features/live/use-live-quotes';
import { cn } from '@/lib/cn';
import { quotaTitle } from '@/lib/quota';
import { useSelectFirst } from '@/lib/use-select-first';
import { moved, type Watchlist, type WatchlistSummary } from '../api/keys';
import { useAddWatchlistItem } from '../api/add-watchlist-item';
import { useCreateWatchlist } from '../api/create-watchlist';
import { useDeleteWatchlist } from '../api/delete-watchlist';
import { useWatchlist } from '../api/get-watchlist';
import { useWatchlists } from '../api/list-watchlists';
import { useRemoveWatchlistItem } from '../api/remove-watchlist-item';
import { useRenameWatchlist } from '../api/rename-watchlist';
import { useReorderWatchlistItems } from '../api/reorder-watchlist-items';
import { useReorderWatchlists } from '../api/reorder-watchlists';
import { WatchlistItemsTable } from './watchlist-items-table';

const step = (d: MoveDirection) => (d === 'up' ? -1 : 1);

function LiveStatus({ status }: { status: string }) {
  return (
    <span className="flex items-center gap-1.5 text-xs text-slate-500" data-testid="live-status">
      <span className={cn('h-2 w-2 rounded-full', status === 'open' ? 'bg-emerald-400' : status === 'connecting' ? 'bg-amber-500/70' : 'bg-slate-600')} />
      {status === 'open' ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Live feed offline'}
    </span>
  );
}

function WatchlistSidebar({ lists, selectedId, onCreate }: { lists: WatchlistSummary[]; selectedId?: string; onCreate: () => void }) {
  const reorder = useReorderWatchlists();
  const focus = useMoveFocus();
  const move = (index: number, direction: MoveDirection) => {
    const next = moved(lists, index, step(direction));
    const item = lists[index]!;
    const to = next.indexOf(item);
    focus.moved(item.id, direction, to, `${item.name} moved to position ${to + 1} of ${lists.length}.`);
    reorder.mutate(next.map((w) => w.id));
  };
  return (
    <nav aria-labelledby="watchlists-heading" className="card flex flex-col lg:sticky lg:top-16 lg:self-start" data-testid="watchlist-sidebar">
      <div className="flex items-center gap-2 border-b border-slate-800 px-3 py-2">
        <h2 id="watchlists-heading" className="text-sm font-semibold text-slate-100">
          Watchlists
        </h2>
        <span className="tabular rounded bg-slate-800 px-1.5 py-0.5 text-xs text-slate-300">{lists.length}</span>
        <button type="button" className="btn-primary ml-auto h-7 px-2.5 text-xs" onClick={onCreate} data-testid="new-watchlist">
          New watchlist
        </button>
      </div>
      {reorder.isError && (
        <div className="p-2">
          <ErrorAlert title="The order could not be saved" error={reorder.error} />
        </div>
      )}
      <ul className="flex flex-col gap-0.5 p-2">
        {lists.map((w, i) => (
          <li key={w.id} className="flex items-center gap-1" data-testid="watchlist-link">
            <NavLink
              to={`/watchlists/${encodeURIComponent(w.id)}`}
              className={({ isActive }) =>
                cn(
                  'flex min-w-0 flex-1 items-center gap-2 rounded px-2 py-1',
                  isActive || w.id === selectedId ? 'bg-sky-500/10 text-sky-200 ring-1 ring-sky-800' : 'text-slate-200 hover:bg-slate-800/60',
                )
              }
            >
              <span className="truncate font-medium">{w.name}</span>
              <span className="tabular ml-auto text-xs text-slate-500">
                {w.item_count}
                <span className="sr-only"> symbols</span>
              </span>
            </NavLink>
            <ReorderButtons
              name={w.name}
              index={i}
              count={lists.length}
              onMove={(d) => move(i, d)}
              focus={focus.focusFor(w.id, i)}
              onFocused={focus.clear}
              disabled={reorder.isPending}
            />
          </li>
        ))}
      </ul>
      <p className="sr-only" aria-live="polite">
        {focus.announcement}
      </p>
    </nav>
  );
}

function WatchlistDetail({ watchlist, onRename, onDelete }: { watchlist: Watchlist; onRename: () => void; onDelete: () => void }) {
  const add = useAddWatchlistItem();
  const remove = useRemoveWatchlistItem();
  const reorder = useReorderWatchlistItems();
  const focus = useMoveFocus();
  const [notice, setNotice] = useState('');
  const [lastAdd, setLastAdd] = useState('');
  const items = watchlist.items;
  const { quotes, status, capped } = useLiveQuotes(items.map((i) => i.symbol));

  const addSymbol = (symbol: string) => {
    setLastAdd(symbol);
    add.mutate({ id: watchlist.id, symbol }, { onSuccess: () => setNotice(`${symbol} added to ${watchlist.name}.`) });
  };
  const move = (symbol: string, direction: MoveDirection) => {
    const index = items.findIndex((i) => i.symbol === symbol);
    const next = moved(items, index, step(direction)).map((i) => i.symbol);
    const to = next.indexOf(symbol);
    focus.moved(symbol, direction, to, `${symbol} moved to position ${to + 1} of ${items.length}.`);
    reorder.mutate({ id: watchlist.id, symbols: next });
  };
  const removeSymbol = (symbol: string) =>
    remove.mutate({ id: watchlist.id, symbol }, { onSuccess: () => setNotice(`${symbol} removed from ${watchlist.name}.`) });

  return (
    <section className="card flex min-w-0 flex-col" aria-labelledby="watchlist-title" data-testid="watchlist-detail">
      <div className="flex flex-wrap items-center gap-x-3 gap-y-2 border-b border-slate-800 px-3 py-2">
        <h1 id="watchlist-title" className="text-base font-semibold text-slate-50">
          {watchlist.name}
        </h1>
        <span className="text-xs text-slate-500">
          {items.length} {items.length === 1 ? 'symbol' : 'symbols'}
        </span>
        {items.length > 0 && <LiveStatus status={status} />}
        <div className="ml-auto flex gap-1">
          <button type="button" className="btn-ghost h-7 px-2 text-xs" onClick={onRename} data-testid="rename-watchlist">
            Rename
          </button>
          <button type="button" className="btn-ghost h-7 px-2 text-xs hover:text-rose-300" onClick={onDelete} data-testid="delete-watchlist">
            Delete
          </button>
        </div>
      </div>
      <div className="flex flex-col gap-2 p-3">
        <SymbolCombobox
          label="Add symbol"
          placeholder="Add symbol: search by symbol or company"
          testId="add-symbol"
          onSelect={addSymbol}
          freeTextHint={(sym) => `No matches. Press Enter to add “${sym}”.`}
          className="max-w-md"
        />
        {add.isError && (
          <ErrorAlert title={quotaTitle(add.error, 'watchlist_items', 'watchlist-symbol', `${lastAdd} could not be added`)} error={add.error} />
        )}
        {remove.isError && <ErrorAlert title="The symbol could not be removed" error={remove.error} />}
        {reorder.isError && <ErrorAlert title="The order could not be saved" error={reorder.error} />}
        {capped && (
          <p className="text-xs text-slate-500" data-testid="live-capped">
            Prices stream live for the first {MAX_SYMBOLS_PER_CONNECTION} symbols; the others refresh every minute.
          </p>
        )}
      </div>
      {items.length === 0 ? (
        <p className="px-3 pb-6 text-slate-500" data-testid="empty-watchlist">
          No symbols yet. Search above to add one, or use ☆ on the screener and on a stock page.
        </p>
      ) : (
        <WatchlistItemsTable
          items={items}
          quotes={quotes}
          onMove={move}
          onRemove={removeSymbol}
          focusFor={focus.focusFor}
          onFocused={focus.clear}
          busy={reorder.isPending}
        />
      )}
      <p className="sr-only" aria-live="polite">
        {focus.announcement || notice}
      </p>
    </section>
  );
}

/** The watchlists page: the lists on the side, the selected one's symbols with live quotes. */
export function WatchlistsPage({ selectedId }: { selectedId?: string }) {
  const navigate = useNavigate();
  const list = useWatchlists();
  const lists = list.data?.data ?? [];
  const selected = lists.find((w) => w.id === selectedId);
  const detail = useWatchlist(selected?.id, { poll: (selected?.item_count ?? 0) > MAX_SYMBOLS_PER_CONNECTION ? 60_000 : undefined });
  const create = useCreateWatchlist();
  const rename = useRenameWatchlist();
  const remove = useDeleteWatchlist();
  const dialogs = useCollectionDialog(create, rename, remove);
  const headingRef = useRef<HTMLHeadingElement>(null);

    useSelectFirst(list.data?.data.map((w) => w.id), !list.isFetching, selectedId, '/watchlists');


  if (list.isPending) {
    return (
      <p className="flex items-center justify-center gap-2 py-24 text-slate-400">
        <Spinner /> Loading your watchlists…
      </p>
    );
  }
  if (list.isError) return <ErrorAlert title="Could not load your watchlists" error={list.error} onRetry={() => void list.refetch()} />;

  return (
    <div className="grid gap-4 lg:grid-cols-[17rem_minmax(0,1fr)]">
      <WatchlistSidebar lists={lists} selectedId={selectedId} onCreate={() => dialogs.open('create')} />
      {lists.length === 0 ? (
        <section className="card flex flex-col items-center gap-3 px-6 py-16 text-center" data-testid="no-watchlists">
          <h1 ref={headingRef} tabIndex={-1} className="text-base font-semibold text-slate-100 focus:outline-none">
            No watchlists yet
          </h1>
          <p className="max-w-sm text-slate-400">Create a watchlist to follow symbols with live prices.</p>
          <button type="button" className="btn-primary" onClick={() => dialogs.open('create')}>
            Create a watchlist
          </button>
        </section>
      ) : detail.isError ? (
        <ErrorAlert title="Could not load this watchlist" error={detail.error} onRetry={() => void detail.refetch()} />
      ) : detail.data ? (
        <WatchlistDetail watchlist={detail.data} onRename={() => dialogs.open('rename')} onDelete={() => dialogs.open('delete')} />
      ) : (
        <p className="flex items-center justify-center gap-2 py-16 text-slate-400">
          <Spinner /> Loading…
        </p>
      )}

      <CollectionDialogs
        noun="watchlist"
        quota="watchlists"
        dialog={dialogs.dialog}
        onClose={dialogs.close}
        selected={selected}
        deleteDescription={`“${selected?.name ?? ''}” and its ${selected?.item_count ?? 0} symbols will be deleted. This cannot be undone.`}
        create={create}
        rename={rename}
        remove={remove}
        onCreated={(id) => navigate(`/watchlists/${encodeURIComponent(id)}`)}
      />
    </div>
  );
}
