import type { QuoteMessage, SubscribeMessage } from '@/types/api';

export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'closed';

type Listener = () => void;

export interface LiveSocketOptions {
  url?: string;
  /** Factory so tests can inject a fake WebSocket. */
  createSocket?: (url: string) => WebSocket;
  minDelayMs?: number;
  maxDelayMs?: number;
}

export function defaultWsUrl(): string {
  const { protocol, host } = window.location;
  return `${protocol === 'https:' ? 'wss:' : 'ws:'}//${host}/ws`;
}

function isQuote(value: unknown): value is QuoteMessage {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.type === 'quote' && typeof v.symbol === 'string' && typeof v.price === 'number';
}

/**
 * A single shared WebSocket with ref-counted symbol subscriptions and
 * exponential-backoff reconnects. Quotes are kept in a tiny external store
 * read through useSyncExternalStore (not in Zustand: this is server data).
 */
export class LiveSocket {
  private socket: WebSocket | null = null;
  private refCounts = new Map<string, number>();
  private quotes = new Map<string, QuoteMessage>();
  private listeners = new Set<Listener>();
  private status: ConnectionStatus = 'idle';
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly opts: Required<Omit<LiveSocketOptions, 'url'>> & { url?: string };

  constructor(opts: LiveSocketOptions = {}) {
    this.opts = {
      url: opts.url,
      createSocket: opts.createSocket ?? ((url) => new WebSocket(url)),
      minDelayMs: opts.minDelayMs ?? 1000,
      maxDelayMs: opts.maxDelayMs ?? 30_000,
    };
  }

  getQuote = (symbol: string): QuoteMessage | undefined => this.quotes.get(symbol.toUpperCase());
  getStatus = (): ConnectionStatus => this.status;

  subscribeStore = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Subscribe to live quotes for a symbol; returns the release function. */
  watch(symbol: string): () => void {
    const sym = symbol.toUpperCase();
    const count = this.refCounts.get(sym) ?? 0;
    this.refCounts.set(sym, count + 1);
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
    if (count === 0) {
      if (this.status === 'open') this.send({ action: 'subscribe', symbols: [sym] });
      else this.ensureConnected();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const current = this.refCounts.get(sym) ?? 0;
      if (current <= 1) {
        this.refCounts.delete(sym);
        if (this.status === 'open') this.send({ action: 'unsubscribe', symbols: [sym] });
        if (this.refCounts.size === 0) this.scheduleIdleClose();
      } else {
        this.refCounts.set(sym, current - 1);
      }
    };
  }

  close(): void {
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onopen = socket.onclose = socket.onerror = socket.onmessage = null;
      try {
        socket.close();
      } catch {
        /* ignore */
      }
    }
    this.setStatus('idle');
  }

  private clearTimers() {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.reconnectTimer = null;
    this.idleTimer = null;
  }

  private scheduleIdleClose() {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    // Keep the socket a little while so quick navigations don't reconnect.
    this.idleTimer = setTimeout(() => {
      if (this.refCounts.size === 0) this.close();
    }, 15_000);
  }

  private ensureConnected() {
    if (this.socket || this.reconnectTimer) return;
    this.connect();
  }

  private connect() {
    this.setStatus('connecting');
    let socket: WebSocket;
    try {
      socket = this.opts.createSocket(this.opts.url ?? defaultWsUrl());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.setStatus('open');
      const symbols = [...this.refCounts.keys()];
      if (symbols.length > 0) this.send({ action: 'subscribe', symbols });
    };
    socket.onmessage = (event: MessageEvent) => {
      if (typeof event.data !== 'string') return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(event.data);
      } catch {
        return;
      }
      if (isQuote(parsed)) {
        const sym = parsed.symbol.toUpperCase();
        if (!this.refCounts.has(sym)) return;
        this.quotes.set(sym, { ...parsed, symbol: sym });
        this.emit();
      }
    };
    socket.onerror = () => {
      // onclose follows and handles the reconnect.
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.setStatus('closed');
      if (this.refCounts.size > 0) this.scheduleReconnect();
    };
  }

  private scheduleReconnect() {
    if (this.reconnectTimer) return;
    const base = Math.min(this.opts.maxDelayMs, this.opts.minDelayMs * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.refCounts.size > 0) this.connect();
    }, delay);
  }

  private send(message: SubscribeMessage) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  private setStatus(status: ConnectionStatus) {
    if (this.status === status) return;
    this.status = status;
    this.emit();
  }

  private emit() {
    for (const listener of this.listeners) listener();
  }
}

let shared: LiveSocket | null = null;

export function getLiveSocket(): LiveSocket {
  if (!shared) shared = new LiveSocket();
  return shared;
}
