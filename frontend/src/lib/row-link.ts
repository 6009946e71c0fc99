import type { KeyboardEvent, MouseEvent } from 'react';

/**
 * A table row that opens something (a stock page): click anywhere but its links and buttons, or Enter
 * on the focused row. Clicks in the row's popovers (portalled elsewhere in the DOM, but React bubbles
 * their events through the row) do not count.
 */
export function rowLinkHandlers(open: () => void) {
  return {
    onClick: (e: MouseEvent<HTMLElement>) => {
      const target = e.target as HTMLElement;
      if (!e.currentTarget.contains(target) || target.closest('a, button')) return;
      open();
    },
    onKeyDown: (e: KeyboardEvent<HTMLElement>) => {
      if (e.key === 'Enter' && e.target === e.currentTarget) open();
    },
  };
}
