import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';
import { afterEach, vi } from 'vitest';
import { useToasts } from '@/components/ui/toast-store';
import { clearSession } from '@/lib/session';

// jsdom has no layout, hence no ResizeObserver; Radix's popper measures its arrow with one.
globalThis.ResizeObserver ??= class {
  observe() {}
  unobserve() {}
  disconnect() {}
};

// findBy*/waitFor give up after 1 s by default; a loaded CI machine (or several suites at once on two
// cores) can take longer to render, which is not what these tests are about.
configure({ asyncUtilTimeout: 5000 });

afterEach(() => {
  cleanup();
  clearSession();
  useToasts.setState({ toasts: [] });
  localStorage.clear();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});
