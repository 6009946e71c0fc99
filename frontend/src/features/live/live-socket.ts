import { refreshSession } from '@/lib/api-client';
import { sessionStore, tokenIsStale } from '@/lib/session';
import type { AlertMessage, ClientMessage, QuoteMessage } from './messages';

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
  /**
   * True when the signed-in user's access token is too old to open a socket with: the socket then waits
   * for `refresh()` (a silent token refresh) before it (re)connects, instead of connecting anonymously
   * or being refused with 401.
   */
  needsRefresh?: () => boolean;
  refresh?: () => Promise<unknown>;
  minDelayMs?: number;
  maxDelayMs?: number;
  /**
   * Heartbeat: a `ping` this often while open (well inside API Gateway's 10-minute idle timeout; browsers
   * cannot send protocol pings). No answer within `pongTimeoutMs`: the socket is dead, replace it.
   */
  heartbeatMs?: number;
  pongTimeoutMs?: number;
  /**
   * A socket that stayed open this long and then closes (API Gateway's 2-hour limit, its idle timeout, a
   * deploy, a network change) is replaced at once, not after a backoff delay: the user sees no gap.
   */
  stableMs?: number;
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

function quotesOf(value: unknown): QuoteMessage[] {
  if (isQuote(value)) return [value];
  if (typeof value !== 'object' || value === null) return [];
  const v = value as Record<string, unknown>;
  // several quotes of one tick for this connection, in one frame (stockscreen.realtime.messages.QuoteFrame)
  return v.type === 'quotes' && Array.isArray(v.quotes) ? v.quotes.filter(isQuote) : [];
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
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;
  private openedAt = 0;
  private refreshing = false;
  /** How many times a socket was replaced after it had been open (tests, diagnostics). */
  reconnects = 0;
  /** The user the open (or opening) socket was authenticated as; null: anonymous. */
  private connectedAs: string | null = null;
  private readonly opts: Required<Omit<LiveSocketOptions, 'url'>> & { url?: string };

  constructor(opts: LiveSocketOptions = {}) {
    this.opts = {
      url: opts.url,
      createSocket: opts.createSocket ?? ((url) => new WebSocket(url)),
      identity: opts.identity ?? (() => null),
      needsRefresh: opts.needsRefresh ?? (() => false),
      refresh: opts.refresh ?? (() => Promise.resolve()),
      minDelayMs: opts.minDelayMs ?? 1000,
      maxDelayMs: opts.maxDelayMs ?? 30_000,
      heartbeatMs: opts.heartbeatMs ?? 4 * 60_000,
      pongTimeoutMs: opts.pongTimeoutMs ?? 10_000,
      stableMs: opts.stableMs ?? 5_000,
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
    this.stopHeartbeat();
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
    this.stopHeartbeat();
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
    if (this.opts.needsRefresh()) {
      // the access token is stale: refresh it first (the socket would be refused, or open anonymously)
      if (this.refreshing) return;
      this.refreshing = true;
      this.opts
        .refresh()
        .catch(() => undefined)
        .finally(() => {
          this.refreshing = false;
          if (this.wanted() && !this.socket) this.open();
        });
      return;
    }
    this.open();
  }

  private open() {
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
    this.openedAt = 0;
    socket.onopen = () => {
      this.openedAt = Date.now();
      this.setStatus('open');
      this.startHeartbeat();
      const symbols = [...this.refCounts.keys()];
      if (symbols.length > 0) this.sendSymbols('subscribe', symbols);
    };
    socket.onmessage = (event: MessageEvent) => {
      if (typeof event.data !== 'string') return;
      this.alive();
      let parsed: unknown;
      try {
        parsed = JSON.parse(event.data);
      } catch {
        return;
      }
      const quotes = quotesOf(parsed);
      if (quotes.length > 0) {
        let changed = false;
        for (const quote of quotes) {
          const sym = quote.symbol.toUpperCase();
          if (!this.refCounts.has(sym)) continue;
          this.quotes.set(sym, { ...quote, symbol: sym });
          changed = true;
        }
        if (changed) this.emit();
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
      this.stopHeartbeat();
      const stable = this.openedAt > 0 && Date.now() - this.openedAt >= this.opts.stableMs;
      if (this.openedAt > 0 && stable) this.attempt = 0;
      if (!this.wanted()) {
        this.setStatus('closed');
        return;
      }
      if (stable) {
        // a socket that served a while and was closed (2-hour limit, idle timeout, network): replace it now,
        // keeping the last quotes on screen; the new socket resubscribes on open
        this.reconnects += 1;
        this.connect();
      } else {
        this.setStatus('closed');
        this.scheduleReconnect();
      }
    };
  }

  private startHeartbeat() {
    this.stopHeartbeat();
    this.heartbeatTimer = setInterval(() => {
      this.send({ action: 'ping' });
      if (!this.pongTimer) {
        this.pongTimer = setTimeout(() => this.dead(), this.opts.pongTimeoutMs);
      }
    }, this.opts.heartbeatMs);
  }

  private stopHeartbeat() {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.heartbeatTimer = null;
    this.pongTimer = null;
  }

  /** Any frame from the server (a pong, a quote) proves the socket alive. */
  private alive() {
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.pongTimer = null;
  }

  /** No answer to a ping: the socket is dead without having closed (a sleeping laptop, a dropped NAT entry). */
  private dead() {
    this.pongTimer = null;
    this.detach();
    if (!this.wanted()) return;
    this.reconnects += 1;
    this.attempt = 0;
    this.connect();
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

  private sendSymbols(action: 'subscribe' | 'unsubscribe', symbols: string[]) {
    for (let i = 0; i < symbols.length; i += MAX_SYMBOLS_PER_MESSAGE) {
      this.send({ action, symbols: symbols.slice(i, i + MAX_SYMBOLS_PER_MESSAGE) });
    }
  }

  private send(message: ClientMessage) {
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

/** Signed in, but the access token is too old to open a socket with: refresh it first. */
function sessionNeedsRefresh(): boolean {
  const s = sessionStore.getState();
  return s.status === 'authenticated' && tokenIsStale(s);
}

export function getLiveSocket(): LiveSocket {
  if (!shared) {
    const live = new LiveSocket({ identity: sessionIdentity, needsRefresh: sessionNeedsRefresh, refresh: refreshSession });
    sessionStore.subscribe(() => live.identityChanged());
    shared = live;
  }
  return shared;
}
