import * as Toast from '@radix-ui/react-toast';
import { CloseIcon } from './icons';
import { useToasts, type ToastTone } from './toast-store';
import { cn } from '@/lib/cn';

const TONES: Record<ToastTone, string> = {
  info: 'border-slate-700',
  success: 'border-emerald-800',
  error: 'border-rose-800',
  alert: 'border-amber-700',
};

/** Focus is in an open popover, dialog or menu (not in a toast): an Escape pressed there is for that layer. */
function escapeBelongsElsewhere(target: EventTarget | null): boolean {
  if (!(target instanceof Element) || target.closest('[data-testid=toast]')) return false;
  return target.closest('[role=dialog], [role=alertdialog], [role=menu], [role=listbox]') !== null;
}

/**
 * The toast region (Radix Toast: announced politely, F8 focuses it, hover or focus pauses the timer,
 * swipe right dismisses). Rendered by ToastOutlet (in the layout) once there is a toast.
 */
export function Toaster() {
  const toasts = useToasts((s) => s.toasts);
  const dismiss = useToasts((s) => s.dismiss);
  return (
    <Toast.Provider swipeDirection="right" duration={6000}>
      {toasts.map((t) => (
        <Toast.Root
          key={t.id}
          type={t.tone === 'alert' || t.tone === 'error' ? 'foreground' : 'background'}
          duration={t.tone === 'alert' ? 12_000 : undefined}
          onOpenChange={(open) => {
            if (!open) dismiss(t.id);
          }}
          // A toast is the newest dismissable layer, so Radix gives it every Escape: one pressed while the user
          // is in a popover, dialog or menu is theirs, not the unseen toast's (which keeps its timer).
          onEscapeKeyDown={(e) => {
            if (escapeBelongsElsewhere(e.target)) e.preventDefault();
          }}
          data-testid="toast"
          className={cn(
            'card flex items-start gap-3 bg-slate-900 px-3 py-2.5 shadow-xl shadow-black/50 data-[swipe=move]:translate-x-[var(--radix-toast-swipe-move-x)] data-[swipe=end]:hidden',
            TONES[t.tone],
          )}
        >
          <div className="min-w-0 flex-1">
            <Toast.Title className={cn('font-medium', t.tone === 'error' ? 'text-rose-200' : t.tone === 'alert' ? 'text-amber-200' : 'text-slate-100')}>
              {t.title}
            </Toast.Title>
            {t.description && <Toast.Description className="mt-0.5 text-slate-400">{t.description}</Toast.Description>}
          </div>
          <Toast.Close className="btn-ghost h-6 w-6 flex-none p-0" aria-label="Dismiss">
            <CloseIcon />
          </Toast.Close>
        </Toast.Root>
      ))}
      <Toast.Viewport className="fixed bottom-0 right-0 z-[60] m-0 flex w-full max-w-sm list-none flex-col gap-2 p-4 outline-none" />
    </Toast.Provider>
  );
}
