import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';
import { afterEach, vi } from 'vitest';
import { useToasts } from '@/components/ui/toast-store';
import { clearSession } from '@/lib/session';

// jsdom has no layout, hence no ResizeObserver; Radix's popper measures its arrow with one.
globalThis.ResizeObserver ??= class {
  observe() {}
  unobserve() {}
  disconnect() {}
};

afterEach(() => {
  cleanup();
  clearSession();
  useToasts.setState({ toasts: [] });
  localStorage.clear();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});
