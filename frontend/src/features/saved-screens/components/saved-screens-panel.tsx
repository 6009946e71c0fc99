import * as DropdownMenu from '@radix-ui/react-dropdown-menu';
import { useId, useRef, useState } from 'react';
import { ErrorAlert } from '@/components/ui/error-alert';
import { Spinner } from '@/components/ui/spinner';
import { SignInPrompt } from '@/components/ui/sign-in-prompt';
import { cn } from '@/lib/cn';
import { quotaOf, type QuotaRefusal } from '@/lib/quota';
import { useSession } from '@/lib/session';
import type { SavedScreen } from '../api/keys';
import { useCreateSavedScreen, type SavedScreenIn } from '../api/create-saved-screen';
import { useDeleteSavedScreen } from '../api/delete-saved-screen';
import { useDuplicateSavedScreen } from '../api/duplicate-saved-screen';
import { useSavedScreens } from '../api/list-saved-screens';
import { useShareSavedScreen } from '../api/share-saved-screen';
import { useUpdateSavedScreen } from '../api/update-saved-screen';
import { DeleteScreenDialog, errorTitle, ScreenNameDialog, ShareScreenDialog } from './screen-dialogs';
import { CardHeader, CountBadge } from '@/components/ui/card-header';

/** The screen on the screener now, as "save" stores it. */
export interface ScreenDraft {
  query: string | null;
  ast: unknown;
  sort: string;
  order: 'asc' | 'desc';
}

type Dialog = { kind: 'save' } | { kind: 'rename' | 'share' | 'delete'; id: string } | null;

function ScreenItem({
  screen,
  active,
  onOpen,
  onAction,
  triggerRef,
}: {
  screen: SavedScreen;
  active: boolean;
  onOpen: () => void;
  onAction: (kind: 'rename' | 'share' | 'delete' | 'duplicate') => void;
  triggerRef: (el: HTMLButtonElement | null) => void;
}) {
  const queryId = useId();
  return (
    <li
      data-testid="saved-screen"
      className={cn('group flex items-start gap-1 rounded-md px-1 py-1', active ? 'bg-sky-500/10 ring-1 ring-sky-800' : 'hover:bg-slate-800/60')}
    >
      <button
        type="button"
        onClick={onOpen}
        aria-current={active ? 'true' : undefined}
        className="min-w-0 flex-1 rounded px-1.5 py-0.5 text-left"
        data-testid="open-saved-screen"
        aria-label={`Open “${screen.name}”`}
        aria-describedby={queryId}
      >
        <span className="flex items-center gap-1.5">
          <span className={cn('truncate font-medium', active ? 'text-sky-200' : 'text-slate-100')}>{screen.name}</span>
          {screen.share_token && (
            <span aria-hidden="true" className="flex-none rounded border border-emerald-800 px-1 text-[10px] uppercase text-emerald-300" title="Shared by link">
              shared
            </span>
          )}
        </span>
        <span id={queryId} className="block truncate font-mono text-[11px] text-slate-500">
          {screen.query || 'every stock'}
          {screen.share_token ? ' (shared by link)' : ''}
        </span>
      </button>
      <DropdownMenu.Root modal={false}>
        <DropdownMenu.Trigger
          ref={triggerRef}
          className="btn-ghost h-7 w-7 flex-none p-0"
          aria-label={`Actions for “${screen.name}”`}
          data-testid="saved-screen-actions"
        >
          <svg viewBox="0 0 16 16" className="h-4 w-4" aria-hidden="true">
            <circle cx="3.5" cy="8" r="1.3" fill="currentColor" />
            <circle cx="8" cy="8" r="1.3" fill="currentColor" />
            <circle cx="12.5" cy="8" r="1.3" fill="currentColor" />
          </svg>
        </DropdownMenu.Trigger>
        <DropdownMenu.Portal>
          <DropdownMenu.Content className="menu-content" sideOffset={4} align="end">
            <DropdownMenu.Item className="menu-item" onSelect={onOpen}>
              Open
            </DropdownMenu.Item>
            <DropdownMenu.Item className="menu-item" onSelect={() => onAction('rename')}>
              Rename…
            </DropdownMenu.Item>
            <DropdownMenu.Item className="menu-item" onSelect={() => onAction('duplicate')}>
              Duplicate
            </DropdownMenu.Item>
            <DropdownMenu.Item className="menu-item" onSelect={() => onAction('share')}>
              {screen.share_token ? 'Share link…' : 'Share…'}
            </DropdownMenu.Item>
            <DropdownMenu.Separator className="my-1 h-px bg-slate-800" />
            <DropdownMenu.Item className="menu-item text-rose-300" onSelect={() => onAction('delete')}>
              Delete…
            </DropdownMenu.Item>
          </DropdownMenu.Content>
        </DropdownMenu.Portal>
      </DropdownMenu.Root>
    </li>
  );
}

/**
 * The signed-in user's saved screens: save the current screen, open one, rename, duplicate, share
 * by link, delete. Anonymous visitors get a sign-in prompt instead.
 */
export function SavedScreensPanel({
  draft,
  activeId,
  onOpen,
  className,
}: {
  /** The screen to save (omit where there is nothing to save). */
  draft?: ScreenDraft | null;
  activeId?: string | null;
  onOpen: (screen: SavedScreen) => void;
  className?: string;
}) {
  const status = useSession((s) => s.status);
  const role = useSession((s) => s.user?.role);
  const list = useSavedScreens();
  const create = useCreateSavedScreen();
  const update = useUpdateSavedScreen();
  const remove = useDeleteSavedScreen();
  const duplicate = useDuplicateSavedScreen();
  const share = useShareSavedScreen();
  const [dialog, setDialog] = useState<Dialog>(null);
  const [quota, setQuota] = useState<QuotaRefusal | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const saveButtonRef = useRef<HTMLButtonElement>(null);
  const triggers = useRef(new Map<string, HTMLButtonElement>());
  const itemTrigger = useRef<HTMLElement | null>(null);

  const screens = list.data?.data ?? [];
  const count = list.data?.count ?? screens.length;
  // the plan's quota comes with the list; a refusal (a plan changed meanwhile) is newer
  const limit = quota?.limit ?? list.data?.limit;
  const planName = quota?.role ?? role ?? 'current';
  const byId = (id: string) => screens.find((s) => s.id === id) ?? null;
  const target = dialog && dialog.kind !== 'save' ? byId(dialog.id) : null;

  const noteQuota = (error: unknown) => {
    const q = quotaOf(error, 'saved_screens');
    if (q) setQuota(q);
  };

  const openDialog = (next: Dialog) => {
    create.reset();
    update.reset();
    remove.reset();
    share.reset();
    itemTrigger.current = next && next.kind !== 'save' ? (triggers.current.get(next.id) ?? null) : null;
    setDialog(next);
  };
  const close = (open: boolean) => {
    if (!open) setDialog(null);
  };

  const onAction = (screen: SavedScreen, kind: 'rename' | 'share' | 'delete' | 'duplicate') => {
    if (kind === 'duplicate') {
      duplicate.mutate(screen.id, { onError: noteQuota });
      return;
    }
    openDialog({ kind, id: screen.id });
  };

  const save = (name: string) => {
    if (!draft) return;
    const body: SavedScreenIn = {
      name,
      description: null,
      query: draft.query,
      ast: draft.ast as SavedScreenIn['ast'],
      sort: draft.sort,
      order: draft.order,
      columns: null,
    };
    create.mutate(body, {
      onSuccess: (saved) => {
        setDialog(null);
        onOpen(saved);
      },
      onError: noteQuota,
    });
  };

  if (status !== 'authenticated') {
    return (
      <section className={cn('card p-3', className)} aria-labelledby="saved-screens-heading">
        <h2 id="saved-screens-heading" className="mb-2 text-sm font-semibold text-slate-100">
          My screens
        </h2>
        {status === 'unknown' ? (
          <Spinner />
        ) : (
          <SignInPrompt title="Sign in to save screens" compact>
            Save a screen to run it again later, and share it by link.
          </SignInPrompt>
        )}
      </section>
    );
  }

  return (
    <section className={cn('card flex flex-col', className)} aria-labelledby="saved-screens-heading" data-testid="saved-screens">
      <CardHeader
        id="saved-screens-heading"
        ref={headingRef}
        focusable
        title="My screens"
        className="min-w-0 gap-1.5"
        headingClassName="whitespace-nowrap"
      >
        {list.data && (
          <CountBadge data-testid="saved-count">
            {limit !== undefined ? (
              <>
                {/* compact on screen ("2/3"), whole for screen readers */}
                <span aria-hidden="true">{`${count}/${limit}`}</span>
                <span className="sr-only">{`${count} of ${limit} saved`}</span>
              </>
            ) : (
              <>
                {count}
                <span className="sr-only"> saved</span>
              </>
            )}
          </CountBadge>
        )}
        {list.isFetching && <Spinner />}
        {draft && (
          <button
            ref={saveButtonRef}
            type="button"
            className="btn-primary ml-auto h-7 shrink-0 whitespace-nowrap px-2 text-xs"
            onClick={() => openDialog({ kind: 'save' })}
            data-testid="save-screen"
          >
            Save screen
          </button>
        )}
      </CardHeader>

      <div className="flex flex-col gap-2 p-2">
        {limit !== undefined && count >= limit && (
          <p className="px-1 text-xs text-amber-300" data-testid="quota-note">
            You have used all {limit} saved screens of the {planName} plan. Delete one to save another.
          </p>
        )}
        {duplicate.isError && <ErrorAlert title={errorTitle(duplicate.error, 'The screen could not be duplicated')} error={duplicate.error} />}
        {list.isPending && (
          <p className="flex items-center gap-2 px-1 py-2 text-slate-400">
            <Spinner /> Loading your screens…
          </p>
        )}
        {list.isError && <ErrorAlert title="Could not load your screens" error={list.error} onRetry={() => void list.refetch()} />}
        {list.data && screens.length === 0 && (
          <p className="px-1 py-2 text-slate-500" data-testid="no-saved-screens">
            No saved screens yet. Set up filters, then save the screen to run it again later.
          </p>
        )}
        {screens.length > 0 && (
          <ul className="flex flex-col gap-0.5" aria-label="Saved screens">
            {screens.map((s) => (
              <ScreenItem
                key={s.id}
                screen={s}
                active={s.id === activeId}
                onOpen={() => onOpen(s)}
                onAction={(kind) => onAction(s, kind)}
                triggerRef={(el) => {
                  if (el) triggers.current.set(s.id, el);
                  else triggers.current.delete(s.id);
                }}
              />
            ))}
          </ul>
        )}
      </div>

      <ScreenNameDialog
        open={dialog?.kind === 'save'}
        onOpenChange={close}
        title="Save screen"
        description="Save the filters and sort on the screener now under a name."
        initial=""
        submitLabel="Save"
        pending={create.isPending}
        error={create.error}
        errorFallback="The screen could not be saved"
        onSubmit={save}
        returnFocusRef={saveButtonRef}
      />
      <ScreenNameDialog
        open={dialog?.kind === 'rename' && target !== null}
        onOpenChange={close}
        title="Rename screen"
        initial={dialog?.kind === 'rename' ? (target?.name ?? '') : ''}
        submitLabel="Rename"
        pending={update.isPending}
        error={update.error}
        errorFallback="The screen could not be renamed"
        onSubmit={(name) => target && update.mutate({ id: target.id, patch: { name } }, { onSuccess: () => setDialog(null) })}
        returnFocusRef={itemTrigger}
      />
      <ShareScreenDialog
        screen={dialog?.kind === 'share' ? target : null}
        onOpenChange={close}
        pending={share.isPending}
        error={share.error}
        onShare={() => target && share.mutate({ id: target.id, shared: true })}
        onRevoke={() => target && share.mutate({ id: target.id, shared: false })}
        returnFocusRef={itemTrigger}
      />
      <DeleteScreenDialog
        screen={dialog?.kind === 'delete' ? target : null}
        onOpenChange={close}
        pending={remove.isPending}
        error={remove.error}
        onConfirm={() => target && remove.mutate(target.id, { onSuccess: () => setDialog(null) })}
        returnFocusRef={headingRef}
      />
    </section>
  );
}
