import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { getLiveSocket } from '@/features/live/live-socket';
import { alertKeys } from './keys';

/** While an alerts view is open: an alert pushed over the WebSocket refreshes the list and the histories (fired counts, firings). */
export function useFiredRefresh() {
  const queryClient = useQueryClient();
  useEffect(() => getLiveSocket().listen(() => void queryClient.invalidateQueries({ queryKey: alertKeys.all })), [queryClient]);
}
