import { lazy, Suspense, useEffect, useState } from 'react';
import { create } from 'zustand';

export type ToastTone = 'info' | 'success' | 'error' | 'alert';

export interface ToastItem {
  id: number;
  title: string;
  description?: string;
  tone: ToastTone;
}

interface ToastState {
  toasts: ToastItem[];
  push: (toast: Omit<ToastItem, 'id'>) => number;
  dismiss: (id: number) => void;
}

let nextId = 1;

/** Transient messages (UI state, not server data): the last few, newest last. */
export const useToasts = create<ToastState>()((set) => ({
  toasts: [],
  push: (toast) => {
    const id = nextId++;
    set((s) => ({ toasts: [...s.toasts.slice(-3), { ...toast, id }] }));
    return id;
  },
  dismiss: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
}));

export function toast(item: Omit<ToastItem, 'id' | 'tone'> & { tone?: ToastTone }): number {
  return useToasts.getState().push({ tone: 'info', ...item });
}

/** Where toasts show: the Radix toast region, loaded with the first toast (it is not needed before). */
export const LazyToaster = lazy(() => import('./toaster').then((m) => ({ default: m.Toaster })));

export function ToastOutlet() {
  const any = useToasts((s) => s.toasts.length > 0);
  const [needed, setNeeded] = useState(false);
  useEffect(() => {
    if (any) setNeeded(true);
  }, [any]);
  return needed ? (
    <Suspense fallback={null}>
      <LazyToaster />
    </Suspense>
  ) : null;
}
