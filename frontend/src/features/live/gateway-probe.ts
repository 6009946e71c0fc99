/**
 * The real LiveSocket against a running WebSocket gateway, outside the browser: run by
 * tests/integration/test_ws_reconnect.py with Node's WebSocket (`node --experimental-websocket
 * node_modules/vite-node/vite-node.mjs src/features/live/gateway-probe.ts URL SYMBOLS SECONDS`).
 * It watches SYMBOLS and writes one JSON line per change (status, prices, reconnects) to stdout.
 * Not part of the app bundle (nothing imports it).
 */
import { LiveSocket } from './live-socket';

const [url = 'ws://127.0.0.1:8000/ws', symbols = 'AAPL', seconds = '5'] = process.argv.slice(2);
const live = new LiveSocket({
  url,
  heartbeatMs: 500,
  pongTimeoutMs: 2_000,
  stableMs: 300,
  minDelayMs: 100,
  maxDelayMs: 1_000,
});
const watched = symbols.split(',');
const write = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
live.subscribeStore(() =>
  write({
    t: Date.now(),
    status: live.getStatus(),
    reconnects: live.reconnects,
    prices: Object.fromEntries(watched.map((s) => [s, live.getQuote(s)?.price ?? null])),
  }),
);
live.watchMany(watched);
setTimeout(
  () => {
    write({ done: true, reconnects: live.reconnects });
    live.close();
    process.exit(0);
  },
  Number(seconds) * 1000,
);
