import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { useEffect, useState, type ReactNode } from 'react';
import { sessionStore } from '@/lib/session';
import { createQueryClient } from './query-client';

/**
 * Cached server data follows the account: signing in refetches what is on screen (field access and
 * results depend on the plan); signing out drops everything, so nothing private outlives the session.
 */
function useCacheFollowsAccount(queryClient: QueryClient) {
  useEffect(
    () =>
      sessionStore.subscribe((next, prev) => {
        const before = prev.user?.id ?? null;
        const after = next.user?.id ?? null;
        if (before === after || prev.status === 'unknown') return;
        if (after === null) void queryClient.resetQueries();
        else void queryClient.invalidateQueries();
      }),
    [queryClient],
  );
}

export function AppProvider({ children, client }: { children: ReactNode; client?: QueryClient }) {
  const [queryClient] = useState(() => client ?? createQueryClient());
  useCacheFollowsAccount(queryClient);
  return <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>;
}
