import * as DropdownMenu from '@radix-ui/react-dropdown-menu';
import { useRef, useState } from 'react';
import { useLocation, useNavigate } from 'react-router-dom';
import { StarIcon } from '@/components/ui/icons';
import { NameDialog } from '@/components/ui/name-dialog';
import { Spinner } from '@/components/ui/spinner';
import { toast } from '@/components/ui/toast-store';
import { ApiError, errorMessage } from '@/lib/api-client';
import { cn } from '@/lib/cn';
import { quotaTitle } from '@/lib/quota';
import { useSession } from '@/lib/session';
import { useAddWatchlistItem } from '../api/add-watchlist-item';
import { useCreateWatchlist } from '../api/create-watchlist';
import { useWatchlists } from '../api/list-watchlists';

/**
 * "Add to watchlist": a star button with a menu of the user's watchlists and "New watchlist…".
 * Signed out, the menu offers to sign in. Used on the stock page and on screener rows.
 */
export function AddToWatchlist({ symbol, compact = false }: { symbol: string; compact?: boolean }) {
  const status = useSession((s) => s.status);
  const [open, setOpen] = useState(false);
  const [naming, setNaming] = useState(false);
  const lists = useWatchlists({ enabled: open });
  const add = useAddWatchlistItem();
  const create = useCreateWatchlist();
  const navigate = useNavigate();
  const location = useLocation();
  const triggerRef = useRef<HTMLButtonElement>(null);

  const addTo = (id: string, name: string) =>
    add.mutate(
      { id, symbol },
      {
        onSuccess: () => toast({ title: `${symbol} added to ${name}`, tone: 'success' }),
        onError: (error) =>
          toast(
            error instanceof ApiError && error.status === 409
              ? { title: `${symbol} is already on ${name}` }
              : { title: quotaTitle(error, 'watchlist_items', 'watchlist-symbol', `${symbol} could not be added to ${name}`), description: errorMessage(error), tone: 'error' },
          ),
      },
    );

  const label = `Add ${symbol} to a watchlist`;
  return (
    <>
      <DropdownMenu.Root modal={false} open={open} onOpenChange={setOpen}>
        <DropdownMenu.Trigger
          ref={triggerRef}
          className={cn(compact ? 'btn-ghost h-7 w-7 p-0 hover:text-amber-300' : 'btn-secondary h-8 gap-1.5')}
          aria-label={label}
          title={label}
          data-testid="add-to-watchlist"
        >
          {add.isPending ? <Spinner className="h-3.5 w-3.5" /> : <StarIcon />}
          {!compact && <span>Watch</span>}
        </DropdownMenu.Trigger>
        <DropdownMenu.Portal>
          <DropdownMenu.Content className="menu-content max-h-80 overflow-y-auto" sideOffset={4} align="end" data-testid="watchlist-menu">
            {status !== 'authenticated' ? (
              <DropdownMenu.Item
                className="menu-item"
                onSelect={() => navigate(`/login?next=${encodeURIComponent(`${location.pathname}${location.search}`)}`)}
              >
                Sign in to use watchlists
              </DropdownMenu.Item>
            ) : (
              <>
                <DropdownMenu.Label className="px-2 py-1 text-xs text-slate-400">Add {symbol} to</DropdownMenu.Label>
                {lists.isPending && (
                  <p className="flex items-center gap-2 px-2 py-1.5 text-slate-400">
                    <Spinner /> Loading…
                  </p>
                )}
                {lists.isError && <p className="px-2 py-1.5 text-rose-300">{errorMessage(lists.error)}</p>}
                {lists.data?.data.map((w) => (
                  <DropdownMenu.Item key={w.id} className="menu-item" onSelect={() => addTo(w.id, w.name)}>
                    <span className="truncate">{w.name}</span>
                    <span className="tabular ml-auto text-xs text-slate-500">{w.item_count}</span>
                  </DropdownMenu.Item>
                ))}
                <DropdownMenu.Separator className="my-1 h-px bg-slate-800" />
                <DropdownMenu.Item
                  className="menu-item"
                  onSelect={() => {
                    create.reset();
                    setNaming(true);
                  }}
                >
                  New watchlist…
                </DropdownMenu.Item>
              </>
            )}
          </DropdownMenu.Content>
        </DropdownMenu.Portal>
      </DropdownMenu.Root>
      <NameDialog
        open={naming}
        onOpenChange={setNaming}
        title="New watchlist"
        description={`${symbol} will be its first symbol.`}
        initial=""
        submitLabel="Create and add"
        pending={create.isPending || add.isPending}
        error={create.error}
        errorTitle={quotaTitle(create.error, 'watchlists', 'watchlist', 'The watchlist could not be created')}
        emptyMessage="Give the watchlist a name."
        maxLength={80}
        returnFocusRef={triggerRef}
        testId="watchlist-name-dialog"
        submitTestId="watchlist-name-submit"
        onSubmit={(name) =>
          create.mutate(name, {
            onSuccess: (w) => {
              setNaming(false);
              addTo(w.id, w.name);
            },
          })
        }
      />
    </>
  );
}
