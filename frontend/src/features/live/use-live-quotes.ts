import { useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import type { QuoteMessage } from './messages';
import { getLiveSocket, MAX_SYMBOLS_PER_CONNECTION, type ConnectionStatus } from './live-socket';

/**
 * Live quotes for a list of symbols over the shared WebSocket. When the list changes only the symbols
 * added or removed are (un)subscribed, in batched messages. A connection may follow only so many
 * symbols: the first ones of the list are followed, and `capped` says that the rest are not.
 */
export function useLiveQuotes(symbols: readonly string[]): {
  quotes: ReadonlyMap<string, QuoteMessage>;
  status: ConnectionStatus;
  capped: boolean;
} {
  const socket = getLiveSocket();
  const unique = [...new Set(symbols.map((s) => s.toUpperCase()))];
  const capped = unique.length > MAX_SYMBOLS_PER_CONNECTION;
  const key = unique.slice(0, MAX_SYMBOLS_PER_CONNECTION).sort().join(',');
  const held = useRef(new Set<string>());

  useEffect(() => {
    const want = new Set(key ? key.split(',') : []);
    const removed = [...held.current].filter((s) => !want.has(s));
    const added = [...want].filter((s) => !held.current.has(s));
    for (const s of removed) held.current.delete(s);
    for (const s of added) held.current.add(s);
    if (added.length > 0) socket.watchMany(added);
    if (removed.length > 0) socket.releaseMany(removed);
  }, [socket, key]);

  useEffect(
    () => () => {
      socket.releaseMany([...held.current]);
      held.current.clear();
    },
    [socket],
  );

  const version = useSyncExternalStore(socket.subscribeStore, socket.getVersion);
  const status = useSyncExternalStore(socket.subscribeStore, socket.getStatus);
  const quotes = useMemo(() => {
    void version; // recompute on every store change
    const out = new Map<string, QuoteMessage>();
    for (const s of key ? key.split(',') : []) {
      const q = socket.getQuote(s);
      if (q) out.set(s, q);
    }
    return out;
  }, [socket, key, version]);
  return { quotes, status, capped };
}
