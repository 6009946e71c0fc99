import { sessionStore, tokenIsStale } from '@/lib/session';
import type { AlertMessage, QuoteMessage, SubscribeMessage } from './messages';

export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'closed';

type Listener = () => void;
export type PushListener = (message: AlertMessage) => void;

/** The server takes at most this many symbols in one (un)subscribe message. */
export const MAX_SYMBOLS_PER_MESSAGE = 50;
/** ...and a connection may follow at most this many (stockscreen.realtime.connections); more are refused. */
export const MAX_SYMBOLS_PER_CONNECTION = 50;

export interface LiveSocketOptions {
  url?: string;
  /** Factory so tests can inject a fake WebSocket. */
  createSocket?: (url: string) => WebSocket;
  /**
   * The signed-in identity to connect as: the user id and a fresh access token, or null to connect
   * anonymously (public quotes only). The token goes in the `access_token` query parameter, the one
   * place a browser's WebSocket handshake can carry it (functions/ws, README "Live quotes").
   */
  identity?: () => { userId: string; token: string } | null;
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** The socket URL for an identity: the access token as the `access_token` query parameter. */
export function wsUrlFor(base: string, token: string | null): string {
  if (!token) return base;
  return `${base}${base.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}`;
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

function isAlert(value: unknown): value is AlertMessage {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.type === 'alert' && typeof v.alert_id === 'string' && typeof v.message === 'string';
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
  private pushListeners = new Set<PushListener>();
  private version = 0;
  private status: ConnectionStatus = 'idle';
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  /** The user the open (or opening) socket was authenticated as; null: anonymous. */
  private connectedAs: string | null = null;
  private readonly opts: Required<Omit<LiveSocketOptions, 'url'>> & { url?: string };

  constructor(opts: LiveSocketOptions = {}) {
    this.opts = {
      url: opts.url,
      createSocket: opts.createSocket ?? ((url) => new WebSocket(url)),
      identity: opts.identity ?? (() => null),
      minDelayMs: opts.minDelayMs ?? 1000,
      maxDelayMs: opts.maxDelayMs ?? 30_000,
    };
  }

  getQuote = (symbol: string): QuoteMessage | undefined => this.quotes.get(symbol.toUpperCase());
  getStatus = (): ConnectionStatus => this.status;
  /** Bumped on every change (quote or status): a snapshot key for hooks reading many quotes. */
  getVersion = (): number => this.version;

  subscribeStore = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Subscribe to live quotes for a symbol; returns the release function. */
  watch(symbol: string): () => void {
    const sym = symbol.toUpperCase();
    this.watchMany([sym]);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.releaseMany([sym]);
    };
  }

  /** Hold a reference on each symbol; the new ones go out in as few subscribe messages as allowed. */
  watchMany(symbols: string[]): void {
    const added: string[] = [];
    for (const symbol of symbols) {
      const sym = symbol.toUpperCase();
      const count = this.refCounts.get(sym) ?? 0;
      this.refCounts.set(sym, count + 1);
      if (count === 0) added.push(sym);
    }
    this.cancelIdleClose();
    if (added.length === 0) return;
    if (this.status === 'open') this.sendSymbols('subscribe', added);
    else this.ensureConnected();
  }

  /** Drop one reference on each symbol (as many as `watchMany` took); unused ones are unsubscribed together. */
  releaseMany(symbols: string[]): void {
    const dropped: string[] = [];
    for (const symbol of symbols) {
      const sym = symbol.toUpperCase();
      const current = this.refCounts.get(sym) ?? 0;
      if (current === 0) continue;
      if (current === 1) {
        this.refCounts.delete(sym);
        dropped.push(sym);
      } else {
        this.refCounts.set(sym, current - 1);
      }
    }
    if (dropped.length > 0 && this.status === 'open') this.sendSymbols('unsubscribe', dropped);
    if (!this.wanted()) this.scheduleIdleClose();
  }

  /**
   * Receive the server's pushes other than quotes (alerts fired for the signed-in user). A listener
   * keeps the socket open even with no symbols watched. Returns the unsubscribe function.
   */
  listen(listener: PushListener): () => void {
    this.pushListeners.add(listener);
    this.cancelIdleClose();
    this.ensureConnected();
    return () => {
      this.pushListeners.delete(listener);
      if (!this.wanted()) this.scheduleIdleClose();
    };
  }

  private wanted(): boolean {
    return this.refCounts.size > 0 || this.pushListeners.size > 0;
  }

  private cancelIdleClose() {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
  }

  /**
   * Call when the session changes: a socket opened as someone else (or anonymously, before sign-in)
   * is replaced by one opened as the current identity, and resubscribes its symbols.
   */
  identityChanged(): void {
    const who = this.opts.identity()?.userId ?? null;
    if (who === this.connectedAs || (!this.socket && !this.reconnectTimer)) return;
    this.detach();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.attempt = 0;
    if (this.wanted()) this.connect();
  }

  close(): void {
    this.clearTimers();
    this.detach();
    this.setStatus('idle');
  }

  private detach() {
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
      if (!this.wanted()) this.close();
    }, 15_000);
  }

  private ensureConnected() {
    if (this.socket || this.reconnectTimer) return;
    this.connect();
  }

  private connect() {
    this.setStatus('connecting');
    let socket: WebSocket;
    const identity = this.opts.identity();
    this.connectedAs = identity?.userId ?? null;
    try {
      socket = this.opts.createSocket(wsUrlFor(this.opts.url ?? defaultWsUrl(), identity?.token ?? null));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.setStatus('open');
      const symbols = [...this.refCounts.keys()];
      if (symbols.length > 0) this.sendSymbols('subscribe', symbols);
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
      } else if (isAlert(parsed)) {
        for (const listener of [...this.pushListeners]) listener(parsed);
      }
    };
    socket.onerror = () => {
      // onclose follows and handles the reconnect.
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.setStatus('closed');
      if (this.wanted()) this.scheduleReconnect();
    };
  }

  private scheduleReconnect() {
    if (this.reconnectTimer) return;
    const base = Math.min(this.opts.maxDelayMs, this.opts.minDelayMs * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.wanted()) this.connect();
    }, delay);
  }

  private sendSymbols(action: SubscribeMessage['action'], symbols: string[]) {
    for (let i = 0; i < symbols.length; i += MAX_SYMBOLS_PER_MESSAGE) {
      this.send({ action, symbols: symbols.slice(i, i + MAX_SYMBOLS_PER_MESSAGE) });
    }
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
    this.version += 1;
    for (const listener of this.listeners) listener();
  }
}

let shared: LiveSocket | null = null;

/** The signed-in user with a token fresh enough to open a socket; null otherwise (anonymous). */
function sessionIdentity(): { userId: string; token: string } | null {
  const s = sessionStore.getState();
  if (s.status !== 'authenticated' || !s.user || !s.accessToken || tokenIsStale(s)) return null;
  return { userId: s.user.id, token: s.accessToken };
}

export function getLiveSocket(): LiveSocket {
  if (!shared) {
    const live = new LiveSocket({ identity: sessionIdentity });
    sessionStore.subscribe(() => live.identityChanged());
    shared = live;
  }
  return shared;
}
