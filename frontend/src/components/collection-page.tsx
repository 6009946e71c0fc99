import type { ReactNode } from 'react';
import { NavLink, useNavigate } from 'react-router-dom';
import { CollectionDialogs, useCollectionDialog, type CollectionMutations } from '@/components/ui/collection-dialogs';
import { ErrorAlert } from '@/components/ui/error-alert';
import { Spinner } from '@/components/ui/spinner';
import { cn } from '@/lib/cn';
import { useSelectFirst } from '@/lib/use-select-first';
import { CardHeader, CountBadge } from '@/components/ui/card-header';

interface Named {
  id: string;
  name: string;
}

/** What the page reads of a TanStack Query result. */
interface QueryState<D> {
  data: D | undefined;
  isError: boolean;
  error: unknown;
  refetch: () => unknown;
}

type Resettable<M> = M & { reset: () => void };

/** Where one item of a collection lives: `/${plural}/:id`. */
export const itemPath = (plural: string, id: string) => `/${plural}/${encodeURIComponent(id)}`;

/** The side list of a collection page: its heading, count and "New …" button, then the page's own list. */
export function CollectionNav({
  noun,
  plural,
  count,
  onCreate,
  testId,
  children,
}: {
  /** "watchlist": the button's label and test id (`new-watchlist`). */
  noun: string;
  /** "watchlists": the heading and its id (`watchlists-heading`). */
  plural: string;
  count: number;
  onCreate: () => void;
  testId?: string;
  children: ReactNode;
}) {
  const headingId = `${plural}-heading`;
  return (
    <nav aria-labelledby={headingId} className="card flex flex-col lg:sticky lg:top-16 lg:self-start" data-testid={testId}>
      <CardHeader id={headingId} title={plural[0]!.toUpperCase() + plural.slice(1)}>
        <CountBadge>{count}</CountBadge>
        <button type="button" className="btn-primary ml-auto h-7 px-2.5 text-xs" onClick={onCreate} data-testid={`new-${noun}`}>
          {`New ${noun}`}
        </button>
      </CardHeader>
      {children}
    </nav>
  );
}

/** One item in the side list: its name and how many things it holds (`countLabel` for screen readers). */
export function CollectionLink({
  plural,
  item,
  count,
  countLabel,
  current = false,
}: {
  plural: string;
  item: Named;
  count: number;
  countLabel: string;
  /** Highlighted even when the URL does not match it to the letter. */
  current?: boolean;
}) {
  return (
    <NavLink
      to={itemPath(plural, item.id)}
      className={({ isActive }) =>
        cn(
          'flex min-w-0 flex-1 items-center gap-2 rounded px-2 py-1',
          isActive || current ? 'bg-sky-500/10 text-sky-200 ring-1 ring-sky-800' : 'text-slate-200 hover:bg-slate-800/60',
        )
      }
    >
      <span className="truncate font-medium">{item.name}</span>
      <span className="tabular ml-auto text-xs text-slate-500">
        {count}
        <span className="sr-only">{` ${countLabel}`}</span>
      </span>
    </NavLink>
  );
}

/**
 * A page of a user's named collection (watchlists, portfolios): the list on the side, the selected item
 * (from the URL, `/${plural}/:id`; the first when none) in the main column, an empty state, and the
 * create / rename / delete dialogs. The page supplies its queries, mutations, side list and detail.
 */
export function CollectionPage<T extends Named, D>({
  noun,
  plural,
  list,
  selectedId,
  detail,
  columns,
  emptyText,
  renderList,
  renderDetail,
  countOf,
  countLabel,
  create,
  rename,
  remove,
}: {
  /** "portfolio": in messages, dialogs and test ids. */
  noun: string;
  /** "portfolios": in messages, the base path, the quota name and test ids. */
  plural: string;
  list: QueryState<{ data: T[] }> & { isPending: boolean; isFetching: boolean };
  selectedId?: string;
  /** The selected item's query. */
  detail: QueryState<D>;
  /** The grid's columns at lg and up, e.g. `lg:grid-cols-[15rem_minmax(0,1fr)]` (a literal, for Tailwind). */
  columns: string;
  /** The empty state's line under "No portfolios yet". */
  emptyText: string;
  renderList: (items: T[], onCreate: () => void) => ReactNode;
  renderDetail: (data: D, actions: { onRename: () => void; onDelete: () => void }) => ReactNode;
  /** How many things an item holds ("transactions", "symbols"): in the delete dialog's warning. */
  countOf: (item: T) => number;
  countLabel: string;
  create: Resettable<CollectionMutations['create']>;
  rename: Resettable<CollectionMutations['rename']>;
  remove: Resettable<CollectionMutations['remove']>;
}) {
  const navigate = useNavigate();
  const items = list.data?.data ?? [];
  const selected = items.find((i) => i.id === selectedId);
  const dialogs = useCollectionDialog(create, rename, remove);

  useSelectFirst(list.data?.data.map((i) => i.id), !list.isFetching, selectedId, `/${plural}`);

  if (list.isPending) {
    return (
      <p className="flex items-center justify-center gap-2 py-24 text-slate-400">
        <Spinner /> {`Loading your ${plural}…`}
      </p>
    );
  }
  if (list.isError) return <ErrorAlert title={`Could not load your ${plural}`} error={list.error} onRetry={() => void list.refetch()} />;

  return (
    <div className={cn('grid gap-4', columns)}>
      {renderList(items, () => dialogs.open('create'))}
      {items.length === 0 ? (
        <section className="card flex flex-col items-center gap-3 px-6 py-16 text-center" data-testid={`no-${plural}`}>
          <h1 className="text-base font-semibold text-slate-100">{`No ${plural} yet`}</h1>
          <p className="max-w-sm text-slate-400">{emptyText}</p>
          <button type="button" className="btn-primary" onClick={() => dialogs.open('create')}>
            {`Create a ${noun}`}
          </button>
        </section>
      ) : detail.isError ? (
        <ErrorAlert title={`Could not load this ${noun}`} error={detail.error} onRetry={() => void detail.refetch()} />
      ) : detail.data ? (
        renderDetail(detail.data, { onRename: () => dialogs.open('rename'), onDelete: () => dialogs.open('delete') })
      ) : (
        <p className="flex items-center justify-center gap-2 py-16 text-slate-400">
          <Spinner /> Loading…
        </p>
      )}

      <CollectionDialogs
        noun={noun}
        quota={plural}
        dialog={dialogs.dialog}
        onClose={dialogs.close}
        selected={selected}
        deleteDescription={`“${selected?.name ?? ''}” and its ${selected ? countOf(selected) : 0} ${countLabel} will be deleted. This cannot be undone.`}
        create={create}
        rename={rename}
        remove={remove}
        onCreated={(id) => navigate(itemPath(plural, id))}
      />
    </div>
  );
}
