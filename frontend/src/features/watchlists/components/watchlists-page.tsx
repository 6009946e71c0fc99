import { useState } from 'react';
import { CollectionLink, CollectionNav, CollectionPage } from '@/components/collection-page';
import { SymbolCombobox } from '@/components/symbol-combobox';
import { ErrorAlert } from '@/components/ui/error-alert';
import { ReorderButtons, useMoveFocus, type MoveDirection } from '@/components/ui/reorder-buttons';
import { MAX_SYMBOLS_PER_CONNECTION } from '@/features/live/live-socket';
import { useLiveQuotes } from '@/features/live/use-live-quotes';
import { cn } from '@/lib/cn';
import { quotaTitle } from '@/lib/quota';
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
    <CollectionNav noun="watchlist" plural="watchlists" count={lists.length} onCreate={onCreate} testId="watchlist-sidebar">
      {reorder.isError && (
        <div className="p-2">
          <ErrorAlert title="The order could not be saved" error={reorder.error} />
        </div>
      )}
      <ul className="flex flex-col gap-0.5 p-2">
        {lists.map((w, i) => (
          <li key={w.id} className="flex items-center gap-1" data-testid="watchlist-link">
            <CollectionLink plural="watchlists" item={w} count={w.item_count} countLabel="symbols" current={w.id === selectedId} />
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
    </CollectionNav>
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
  const list = useWatchlists();
  const selected = list.data?.data.find((w) => w.id === selectedId);
  const detail = useWatchlist(selected?.id, { poll: (selected?.item_count ?? 0) > MAX_SYMBOLS_PER_CONNECTION ? 60_000 : undefined });
  const create = useCreateWatchlist();
  const rename = useRenameWatchlist();
  const remove = useDeleteWatchlist();
  return (
    <CollectionPage
      noun="watchlist"
      plural="watchlists"
      list={list}
      selectedId={selectedId}
      detail={detail}
      columns="lg:grid-cols-[17rem_minmax(0,1fr)]"
      emptyText="Create a watchlist to follow symbols with live prices."
      renderList={(lists, onCreate) => <WatchlistSidebar lists={lists} selectedId={selectedId} onCreate={onCreate} />}
      renderDetail={(watchlist, actions) => <WatchlistDetail watchlist={watchlist} {...actions} />}
      countOf={(w) => w.item_count}
      countLabel="symbols"
      create={create}
      rename={rename}
      remove={remove}
    />
  );
}
