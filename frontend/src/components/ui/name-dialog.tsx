import { useEffect, useState, type FormEvent, type ReactNode, type RefObject } from 'react';
import { DialogClose, Modal } from './dialog';
import { ErrorAlert } from './error-alert';
import { Spinner } from './spinner';
import { TextField } from './text-field';

/** Create / rename something that has only a name: one field, the API's error above it. */
export function NameDialog({
  open,
  onOpenChange,
  title,
  description,
  initial,
  submitLabel,
  pending,
  error,
  errorTitle,
  emptyMessage,
  maxLength,
  onSubmit,
  returnFocusRef,
  testId,
  submitTestId,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  description?: string;
  initial: string;
  submitLabel: string;
  pending: boolean;
  error: unknown;
  /** The error alert's title for `error`. */
  errorTitle: string;
  emptyMessage: string;
  maxLength: number;
  onSubmit: (name: string) => void;
  returnFocusRef?: RefObject<HTMLElement | null>;
  testId?: string;
  submitTestId?: string;
}) {
  const [name, setName] = useState(initial);
  const [touched, setTouched] = useState(false);
  useEffect(() => {
    if (open) {
      setName(initial);
      setTouched(false);
    }
  }, [open, initial]);
  const empty = name.trim() === '';

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (empty || pending) return;
    onSubmit(name.trim());
  };

  return (
    <Modal open={open} onOpenChange={onOpenChange} title={title} description={description} testId={testId} returnFocusRef={returnFocusRef}>
      <form onSubmit={submit} noValidate className="flex flex-col gap-3">
        {error ? <ErrorAlert title={errorTitle} error={error} /> : null}
        <TextField
          label="Name"
          name="name"
          value={name}
          maxLength={maxLength}
          autoComplete="off"
          onChange={(e) => setName(e.target.value)}
          error={touched && empty ? emptyMessage : undefined}
        />
        <div className="flex justify-end gap-2">
          <DialogClose className="btn-ghost">Cancel</DialogClose>
          <button type="submit" className="btn-primary" disabled={pending} data-testid={submitTestId}>
            {pending && <Spinner className="text-white" />}
            {submitLabel}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** "Delete this …?" with the API's error when it refuses. */
export function ConfirmDeleteDialog({
  open,
  onOpenChange,
  title,
  description,
  pending,
  error,
  errorTitle,
  onConfirm,
  confirmLabel = 'Delete',
  returnFocusRef,
  testId,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  description: ReactNode;
  pending: boolean;
  error: unknown;
  errorTitle: string;
  onConfirm: () => void;
  confirmLabel?: string;
  returnFocusRef?: RefObject<HTMLElement | null>;
  testId?: string;
}) {
  return (
    <Modal open={open} onOpenChange={onOpenChange} title={title} description={description} testId={testId} returnFocusRef={returnFocusRef}>
      {error ? <ErrorAlert title={errorTitle} error={error} /> : null}
      <div className="flex justify-end gap-2">
        <DialogClose className="btn-ghost">Cancel</DialogClose>
        <button type="button" className="btn bg-rose-600 text-white hover:bg-rose-500" disabled={pending} onClick={onConfirm} data-testid="confirm-delete">
          {pending && <Spinner className="text-white" />}
          {confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
