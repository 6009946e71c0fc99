import { useEffect, useSyncExternalStore } from 'react';
import { getLiveSocket, type ConnectionStatus } from './live-socket';
import type { QuoteMessage } from './messages';

/** Subscribe to live quotes for one symbol over the shared WebSocket. */
export function useLiveQuote(symbol: string | undefined): { quote: QuoteMessage | undefined; status: ConnectionStatus } {
  const socket = getLiveSocket();

  useEffect(() => {
    if (!symbol) return;
    return socket.watch(symbol);
  }, [socket, symbol]);

  const quote = useSyncExternalStore(socket.subscribeStore, () => (symbol ? socket.getQuote(symbol) : undefined));
  const status = useSyncExternalStore(socket.subscribeStore, socket.getStatus);
  return { quote, status };
}
