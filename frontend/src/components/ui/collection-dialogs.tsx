import { useState } from 'react';
import { quotaTitle } from '@/lib/quota';
import { ConfirmDeleteDialog, NameDialog } from './name-dialog';

export type CollectionDialog = 'create' | 'rename' | 'delete' | null;

interface Pending {
  isPending: boolean;
  error: unknown;
}

/** The three mutations of a named collection, as the dialogs use them (TanStack Query's results fit). */
export interface CollectionMutations {
  create: Pending & { mutate: (name: string, opts: { onSuccess: (created: { id: string }) => void }) => void };
  rename: Pending & { mutate: (v: { id: string; name: string }, opts: { onSuccess: () => void }) => void };
  remove: Pending & { mutate: (id: string, opts: { onSuccess: () => void }) => void };
}

/** Which of a named collection's dialogs is open; opening one clears the mutations' last errors. */
export function useCollectionDialog(...mutations: { reset: () => void }[]) {
  const [dialog, setDialog] = useState<CollectionDialog>(null);
  return {
    dialog,
    open: (next: CollectionDialog) => {
      for (const m of mutations) m.reset();
      setDialog(next);
    },
    close: () => setDialog(null),
  };
}

/**
 * Create / rename / delete dialogs for a user's named things (watchlists, portfolios): the API's
 * error in each, its quota message when the plan allows no more.
 */
export function CollectionDialogs({
  noun,
  quota,
  dialog,
  onClose,
  selected,
  deleteDescription,
  create,
  rename,
  remove,
  onCreated,
}: {
  /** "watchlist", "portfolio": in titles, messages and test ids. */
  noun: string;
  /** The quota name in the API's refusal details ("watchlists"). */
  quota: string;
  dialog: CollectionDialog;
  onClose: () => void;
  selected: { id: string; name: string } | undefined;
  deleteDescription: string;
  create: CollectionMutations['create'];
  rename: CollectionMutations['rename'];
  remove: CollectionMutations['remove'];
  onCreated: (id: string) => void;
}) {
  const onOpenChange = (open: boolean) => {
    if (!open) onClose();
  };
  const named = {
    onOpenChange,
    emptyMessage: `Give the ${noun} a name.`,
    maxLength: 80,
    testId: `${noun}-name-dialog`,
    submitTestId: `${noun}-name-submit`,
  };
  return (
    <>
      <NameDialog
        {...named}
        open={dialog === 'create'}
        title={`New ${noun}`}
        initial=""
        submitLabel="Create"
        pending={create.isPending}
        error={create.error}
        errorTitle={quotaTitle(create.error, quota, noun, `The ${noun} could not be created`)}
        onSubmit={(name) =>
          create.mutate(name, {
            onSuccess: (created) => {
              onClose();
              onCreated(created.id);
            },
          })
        }
      />
      <NameDialog
        {...named}
        open={dialog === 'rename' && !!selected}
        title={`Rename ${noun}`}
        initial={selected?.name ?? ''}
        submitLabel="Rename"
        pending={rename.isPending}
        error={rename.error}
        errorTitle={`The ${noun} could not be renamed`}
        onSubmit={(name) => selected && rename.mutate({ id: selected.id, name }, { onSuccess: onClose })}
      />
      <ConfirmDeleteDialog
        open={dialog === 'delete' && !!selected}
        onOpenChange={onOpenChange}
        title={`Delete this ${noun}?`}
        description={deleteDescription}
        pending={remove.isPending}
        error={remove.error}
        errorTitle={`The ${noun} could not be deleted`}
        testId={`delete-${noun}-dialog`}
        onConfirm={() => selected && remove.mutate(selected.id, { onSuccess: onClose })}
      />
    </>
  );
}
