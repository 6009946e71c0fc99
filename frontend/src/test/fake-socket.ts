import { vi } from 'vitest';
import { getLiveSocket } from '@/features/live/live-socket';

/** A WebSocket stand-in: tests open it, read what the page sent, and push server messages. */
export class FakeWebSocket {
  static OPEN = 1;
  static instances: FakeWebSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  close = vi.fn();
  constructor(public url: string) {
    FakeWebSocket.instances.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  drop() {
    this.readyState = 3;
    this.onclose?.();
  }
  receive(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  static latest(): FakeWebSocket | undefined {
    return FakeWebSocket.instances.at(-1);
  }
}

/** Stub WebSocket for one test; the app's shared socket starts from scratch. */
export function stubWebSocket() {
  getLiveSocket().close();
  FakeWebSocket.instances = [];
  vi.stubGlobal('WebSocket', FakeWebSocket);
}
