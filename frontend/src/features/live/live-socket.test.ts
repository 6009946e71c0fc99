import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWebSocket as FakeSocket } from '@/test/fake-socket';
import { LiveSocket, wsUrlFor } from './live-socket';

describe('LiveSocket', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.instances = [];
    vi.stubGlobal('WebSocket', { OPEN: 1 });
  });
  afterEach(() => vi.useRealTimers());

  const make = () => new LiveSocket({ url: 'ws://x/ws', createSocket: (u) => new FakeSocket(u) as unknown as WebSocket });

  it('subscribes after open, stores quotes and unsubscribes on release', () => {
    const live = make();
    const release = live.watch('aapl');
    const sock = FakeSocket.instances[0]!;
    sock.open();
    expect(sock.sent).toEqual([{ action: 'subscribe', symbols: ['AAPL'] }]);
    sock.onmessage?.({ data: JSON.stringify({ type: 'quote', symbol: 'AAPL', price: 160.1, change_pct: 0.35, volume: 1, ts: 't' }) });
    expect(live.getQuote('AAPL')?.price).toBe(160.1);
    release();
    expect(sock.sent.at(-1)).toEqual({ action: 'unsubscribe', symbols: ['AAPL'] });
  });

  it('reconnects with backoff and resubscribes', () => {
    const live = make();
    live.watch('MSFT');
    FakeSocket.instances[0]!.open();
    FakeSocket.instances[0]!.drop();
    expect(live.getStatus()).toBe('closed');
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.instances).toHaveLength(2);
    FakeSocket.instances[1]!.drop();
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.instances).toHaveLength(2); // second delay is longer (1-2 s)
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.instances).toHaveLength(3);
    FakeSocket.instances[2]!.open();
    expect(FakeSocket.instances[2]!.sent).toEqual([{ action: 'subscribe', symbols: ['MSFT'] }]);
  });

  it('subscribes many symbols in messages of at most 50 and releases them in one', () => {
    const live = make();
    const symbols = Array.from({ length: 60 }, (_, i) => `S${i}`);
    live.watchMany(symbols);
    const sock = FakeSocket.instances[0]!;
    sock.open();
    expect(sock.sent).toEqual([
      { action: 'subscribe', symbols: symbols.slice(0, 50) },
      { action: 'subscribe', symbols: symbols.slice(50) },
    ]);
    live.watchMany(['S0', 'NEW']); // S0 is held twice now: only NEW goes out
    expect(sock.sent.at(-1)).toEqual({ action: 'subscribe', symbols: ['NEW'] });
    live.releaseMany(['S0', 'S1', 'NEW']);
    expect(sock.sent.at(-1)).toEqual({ action: 'unsubscribe', symbols: ['S1', 'NEW'] });
  });

  it('passes alert pushes to listeners and stays open for them with no symbol watched', () => {
    const live = make();
    const got: unknown[] = [];
    const stop = live.listen((m) => got.push(m));
    const sock = FakeSocket.instances[0]!;
    sock.open();
    expect(sock.sent).toEqual([]);
    const alert = { type: 'alert', alert_id: 'a1', symbol: 'AAPL', message: 'AAPL rose above 200', price: 201, triggered_at: 't' };
    sock.onmessage?.({ data: JSON.stringify(alert) });
    sock.onmessage?.({ data: JSON.stringify({ type: 'subscribed', symbols: [] }) });
    expect(got).toEqual([alert]);
    // a watcher coming and going does not close the socket the listener needs
    live.watch('MSFT')();
    vi.advanceTimersByTime(20_000);
    expect(live.getStatus()).toBe('open');
    // dropped: it reconnects for the listener
    sock.drop();
    vi.advanceTimersByTime(1000);
    expect(FakeSocket.instances).toHaveLength(2);
    stop();
    FakeSocket.instances[1]!.open();
    vi.advanceTimersByTime(20_000);
    expect(live.getStatus()).toBe('idle');
  });

  it('connects as the signed-in user with the token in the URL, and reconnects when the user changes', () => {
    let identity: { userId: string; token: string } | null = null;
    const live = new LiveSocket({
      url: 'ws://x/ws',
      identity: () => identity,
      createSocket: (u) => new FakeSocket(u) as unknown as WebSocket,
    });
    live.watch('AAPL');
    expect(FakeSocket.instances[0]!.url).toBe('ws://x/ws');
    FakeSocket.instances[0]!.open();

    identity = { userId: 'u1', token: 'a.b/c' };
    live.identityChanged();
    expect(FakeSocket.instances).toHaveLength(2);
    expect(FakeSocket.instances[0]!.close).toHaveBeenCalled();
    expect(FakeSocket.instances[1]!.url).toBe('ws://x/ws?access_token=a.b%2Fc');
    FakeSocket.instances[1]!.open();
    expect(FakeSocket.instances[1]!.sent).toEqual([{ action: 'subscribe', symbols: ['AAPL'] }]);

    live.identityChanged(); // same user (a refreshed token): the socket stays
    expect(FakeSocket.instances).toHaveLength(2);
    identity = null; // signed out: back to an anonymous socket
    live.identityChanged();
    expect(FakeSocket.instances).toHaveLength(3);
    expect(FakeSocket.instances[2]!.url).toBe('ws://x/ws');
  });

  it('leaves a closed socket closed when the session changes', () => {
    const live = make();
    live.identityChanged();
    expect(FakeSocket.instances).toHaveLength(0);
  });

  it('adds the token to a URL that already has a query', () => {
    expect(wsUrlFor('ws://x/ws?v=1', 't')).toBe('ws://x/ws?v=1&access_token=t');
    expect(wsUrlFor('ws://x/ws', null)).toBe('ws://x/ws');
  });

  it('reads several quotes of one tick from one frame', () => {
    const live = make();
    live.watchMany(['AAPL', 'MSFT']);
    const sock = FakeSocket.instances[0]!;
    sock.open();
    sock.receive({
      type: 'quotes',
      quotes: [
        { type: 'quote', symbol: 'AAPL', price: 1, change_pct: null, volume: null, ts: 't' },
        { type: 'quote', symbol: 'MSFT', price: 2, change_pct: null, volume: null, ts: 't' },
        { type: 'quote', symbol: 'IBM', price: 3, change_pct: null, volume: null, ts: 't' },
      ],
    });
    expect(live.getQuote('AAPL')?.price).toBe(1);
    expect(live.getQuote('MSFT')?.price).toBe(2);
    expect(live.getQuote('IBM')).toBeUndefined(); // not watched
  });

  it('pings on a heartbeat and replaces a socket that stops answering', () => {
    const live = new LiveSocket({
      url: 'ws://x/ws',
      createSocket: (u) => new FakeSocket(u) as unknown as WebSocket,
      heartbeatMs: 60_000,
      pongTimeoutMs: 5_000,
    });
    live.watch('AAPL');
    const sock = FakeSocket.instances[0]!;
    sock.open();
    vi.advanceTimersByTime(60_000);
    expect(sock.sent.at(-1)).toEqual({ action: 'ping' });
    sock.receive({ type: 'pong' });
    vi.advanceTimersByTime(10_000);
    expect(FakeSocket.instances).toHaveLength(1); // answered: kept
    vi.advanceTimersByTime(50_000); // the next ping gets no answer
    expect(sock.sent.at(-1)).toEqual({ action: 'ping' });
    vi.advanceTimersByTime(5_000);
    expect(sock.close).toHaveBeenCalled();
    expect(FakeSocket.instances).toHaveLength(2); // replaced at once
    FakeSocket.instances[1]!.open();
    expect(FakeSocket.instances[1]!.sent).toEqual([{ action: 'subscribe', symbols: ['AAPL'] }]);
    expect(live.reconnects).toBe(1);
  });

  it('after the 2-hour limit closes a long-open socket it reconnects at once, resubscribes and keeps the quotes', () => {
    const live = make();
    const statuses: string[] = [];
    live.subscribeStore(() => statuses.push(live.getStatus()));
    live.watchMany(['AAPL', 'MSFT']);
    const first = FakeSocket.instances[0]!;
    first.open();
    first.receive({ type: 'quote', symbol: 'AAPL', price: 10, change_pct: null, volume: null, ts: 't' });
    for (let minute = 0; minute < 120; minute += 4) {
      vi.advanceTimersByTime(4 * 60_000); // API Gateway's maximum connection duration, heartbeat answered
      expect(first.sent.at(-1)).toEqual({ action: 'ping' });
      first.receive({ type: 'pong' });
    }
    expect(FakeSocket.instances).toHaveLength(1); // a healthy socket is kept for its whole life
    first.drop(); // the server closes it (1001 Going away)
    expect(FakeSocket.instances).toHaveLength(2); // no backoff delay
    expect(live.getQuote('AAPL')?.price).toBe(10); // the last price stays on screen
    expect(statuses).not.toContain('closed');
    FakeSocket.instances[1]!.open();
    expect(FakeSocket.instances[1]!.sent).toEqual([{ action: 'subscribe', symbols: ['AAPL', 'MSFT'] }]);
    expect(live.getStatus()).toBe('open');
  });

  it('refreshes a stale access token before it reconnects, then connects as the user', async () => {
    let stale = false;
    let token = 'old';
    const refresh = vi.fn(() => {
      token = 'new';
      stale = false;
      return Promise.resolve(true);
    });
    const live = new LiveSocket({
      url: 'ws://x/ws',
      createSocket: (u) => new FakeSocket(u) as unknown as WebSocket,
      identity: () => (stale ? null : { userId: 'u1', token }),
      needsRefresh: () => stale,
      refresh,
      heartbeatMs: 24 * 60 * 60 * 1000,
    });
    live.watch('AAPL');
    expect(FakeSocket.instances[0]!.url).toBe('ws://x/ws?access_token=old');
    FakeSocket.instances[0]!.open();
    vi.advanceTimersByTime(60 * 60 * 1000); // the access token aged meanwhile
    stale = true;
    FakeSocket.instances[0]!.drop();
    expect(FakeSocket.instances).toHaveLength(1); // not anonymously, not with the stale token
    await vi.waitFor(() => expect(FakeSocket.instances).toHaveLength(2));
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(FakeSocket.instances[1]!.url).toBe('ws://x/ws?access_token=new');
  });
});
