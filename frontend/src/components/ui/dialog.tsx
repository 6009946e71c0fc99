import * as Dialog from '@radix-ui/react-dialog';
import type { ReactNode, RefObject } from 'react';
import { cn } from '@/lib/cn';
import { CloseIcon } from './icons';

/**
 * A modal dialog (Radix: focus trapped and restored, Escape closes, the rest hidden from assistive tech).
 * Radix's own Overlay is not used: it locks scrolling by injecting a <style> element, which the strict
 * CSP (style-src 'self') refuses; a plain backdrop does the visual part.
 */
export function Modal({
  open,
  onOpenChange,
  title,
  description,
  children,
  testId,
  returnFocusRef,
  wide = false,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  description?: ReactNode;
  children: ReactNode;
  testId?: string;
  /** Where focus goes on close when the opener is gone (a menu item) or not the right place. */
  returnFocusRef?: RefObject<HTMLElement | null>;
  /** A longer form (the alert builder): up to 42rem wide instead of 28rem. */
  wide?: boolean;
}) {
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Portal>
        <div className="fixed inset-0 z-50 bg-black/60" aria-hidden="true" />
        <Dialog.Content
          data-testid={testId}
          className={cn(
            'card fixed left-1/2 top-[12vh] z-50 flex max-h-[80vh] w-[calc(100vw-2rem)] -translate-x-1/2 flex-col gap-3 overflow-y-auto bg-slate-900 p-5 shadow-2xl shadow-black/60 focus:outline-none',
            wide ? 'max-w-2xl' : 'max-w-md',
          )}
          {...(description ? {} : { 'aria-describedby': undefined })}
          onEscapeKeyDown={(event) => {
            // Escape in an expanded combobox (symbol search) closes its list, not the dialog.
            const target = event.target;
            if (target instanceof HTMLElement && target.getAttribute('aria-expanded') === 'true') event.preventDefault();
          }}
          onCloseAutoFocus={(event) => {
            const target = returnFocusRef?.current;
            if (target && target.isConnected) {
              event.preventDefault();
              target.focus();
            }
          }}
        >
          <Dialog.Title className="text-base font-semibold text-slate-50">{title}</Dialog.Title>
          {description && <Dialog.Description className="text-slate-400">{description}</Dialog.Description>}
          {children}
          <Dialog.Close className="btn-ghost absolute right-2 top-2 h-7 w-7 p-0" aria-label="Close">
            <CloseIcon />
          </Dialog.Close>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

export const DialogClose = Dialog.Close;
