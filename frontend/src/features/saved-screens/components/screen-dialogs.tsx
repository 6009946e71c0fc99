import { useEffect, useRef, useState, type ComponentProps, type RefObject } from 'react';
import { Modal, DialogClose } from '@/components/ui/dialog';
import { ConfirmDeleteDialog, NameDialog } from '@/components/ui/name-dialog';
import { ErrorAlert } from '@/components/ui/error-alert';
import { Spinner } from '@/components/ui/spinner';
import { TextField } from '@/components/ui/text-field';
import { quotaTitle } from '@/lib/quota';
import type { SavedScreen } from '../api/keys';
import { shareUrl } from '../api/share-saved-screen';

/** A quota refusal (403 or 409 with the limit in its details) gets a title that says so. */
export function errorTitle(error: unknown, fallback: string): string {
  return quotaTitle(error, 'saved_screens', 'saved-screen', fallback);
}

const NAME_MAX = 120;

/** Save as / rename: one name field. */
export function ScreenNameDialog({
  errorFallback,
  error,
  ...props
}: Omit<ComponentProps<typeof NameDialog>, 'errorTitle' | 'emptyMessage' | 'maxLength' | 'testId' | 'submitTestId'> & {
  /** The error alert's title unless the error is a quota refusal. */
  errorFallback: string;
}) {
  return (
    <NameDialog
      {...props}
      error={error}
      errorTitle={errorTitle(error, errorFallback)}
      emptyMessage="Give the screen a name."
      maxLength={NAME_MAX}
      testId="screen-name-dialog"
      submitTestId="screen-name-submit"
    />
  );
}

export function DeleteScreenDialog({
  screen,
  onOpenChange,
  pending,
  error,
  onConfirm,
  returnFocusRef,
}: {
  screen: SavedScreen | null;
  onOpenChange: (open: boolean) => void;
  pending: boolean;
  error: unknown;
  onConfirm: () => void;
  returnFocusRef?: RefObject<HTMLElement | null>;
}) {
  return (
    <ConfirmDeleteDialog
      open={screen !== null}
      onOpenChange={onOpenChange}
      title="Delete this screen?"
      description={
        <>
          “{screen?.name}” will be deleted{screen?.share_token ? ' and its share link will stop working' : ''}. This cannot be undone.
        </>
      }
      testId="delete-screen-dialog"
      returnFocusRef={returnFocusRef}
      pending={pending}
      error={error}
      errorTitle="The screen could not be deleted"
      onConfirm={onConfirm}
    />
  );
}

type CopyState = 'idle' | 'copied' | 'failed';

export function ShareScreenDialog({
  screen,
  onOpenChange,
  pending,
  error,
  onShare,
  onRevoke,
  returnFocusRef,
}: {
  screen: SavedScreen | null;
  onOpenChange: (open: boolean) => void;
  pending: boolean;
  error: unknown;
  onShare: () => void;
  onRevoke: () => void;
  returnFocusRef?: RefObject<HTMLElement | null>;
}) {
  const [copy, setCopy] = useState<CopyState>('idle');
  const inputRef = useRef<HTMLInputElement>(null);
  const token = screen?.share_token ?? null;
  const link = token ? shareUrl(token) : '';
  useEffect(() => setCopy('idle'), [link]);

  const copyLink = async () => {
    try {
      await navigator.clipboard.writeText(link);
      setCopy('copied');
    } catch {
      // No clipboard access (permissions, insecure origin): select the text for a manual copy.
      inputRef.current?.select();
      setCopy('failed');
    }
  };

  return (
    <Modal
      open={screen !== null}
      onOpenChange={onOpenChange}
      title={`Share “${screen?.name ?? ''}”`}
      description={
        token
          ? 'Anyone with this link can view the screen and its results, read-only. Revoke the link to stop that.'
          : 'Create a public, read-only link to this screen. Nobody can change it through the link.'
      }
      testId="share-screen-dialog"
      returnFocusRef={returnFocusRef}
    >
      {error ? <ErrorAlert title="The share link could not be changed" error={error} /> : null}
      {token ? (
        <>
          <div className="flex items-end gap-2">
            <div className="min-w-0 flex-1">
              <TextField ref={inputRef} label="Share link" value={link} readOnly onFocus={(e) => e.currentTarget.select()} data-testid="share-link" />
            </div>
            <button type="button" className="btn-primary h-9" onClick={() => void copyLink()} data-testid="copy-share-link">
              Copy link
            </button>
          </div>
          <p className="min-h-5 text-xs" aria-live="polite">
            {copy === 'copied' && <span className="text-emerald-300">Link copied to the clipboard.</span>}
            {copy === 'failed' && <span className="text-amber-300">Could not copy: the link is selected, press Ctrl+C (⌘C).</span>}
          </p>
          <div className="flex justify-between gap-2">
            <button type="button" className="btn-ghost text-rose-300 hover:text-rose-200" disabled={pending} onClick={onRevoke} data-testid="revoke-share">
              Revoke link
            </button>
            <DialogClose className="btn-secondary">Done</DialogClose>
          </div>
        </>
      ) : (
        <div className="flex justify-end gap-2">
          <DialogClose className="btn-ghost">Cancel</DialogClose>
          <button type="button" className="btn-primary" disabled={pending} onClick={onShare} data-testid="create-share">
            {pending && <Spinner className="text-white" />}
            Create link
          </button>
        </div>
      )}
    </Modal>
  );
}
