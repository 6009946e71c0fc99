import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { toast } from '@/components/ui/toast-store';
import { getLiveSocket } from '@/features/live/live-socket';
import { formatPrice } from '@/lib/format';
import { notificationKeys, type Notifications } from '../api/keys';

/**
 * While signed in: alerts the server pushes over the WebSocket show as a toast and bump the unread
 * count at once (then the list is refetched for the stored notification).
 */
export function useAlertPushes(enabled: boolean) {
  const queryClient = useQueryClient();
  useEffect(() => {
    if (!enabled) return;
    return getLiveSocket().listen((push) => {
      toast({
        title: push.symbol ? `Alert: ${push.symbol}` : 'Alert',
        description: push.price !== null ? `${push.message} (${formatPrice(push.price)})` : push.message,
        tone: 'alert',
      });
      queryClient.setQueriesData<Notifications>({ queryKey: notificationKeys.all }, (page) => (page ? { ...page, unread: page.unread + 1 } : page));
      void queryClient.invalidateQueries({ queryKey: notificationKeys.all });
    });
  }, [enabled, queryClient]);
}
