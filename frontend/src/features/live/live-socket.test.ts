import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveSocket } from './live-socket';

class FakeSocket {
  static instances: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  constructor(public url: string) {
    FakeSocket.instances.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {}
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  drop() {
    this.readyState = 3;
    this.onclose?.();
  }
}

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
});
