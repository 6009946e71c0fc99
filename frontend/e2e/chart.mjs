#!/usr/bin/env node
// Browser journey: the stock page's live chart against a running `make dev` (the replay feed moves prices
// every FEED_INTERVAL seconds through the production poller, which also writes the one-minute bars).
// Settings in harness.mjs, and:
//   SYMBOL          default AAPL
//   ROLL_TIMEOUT_S  optional: how long to wait for the minute to roll over into a new candle (default 75)
// The chart is a canvas: its last candle is read from the data attributes the chart exposes
// (data-candles, data-last-time, data-last-open/high/low/close).
import { BASE_URL, journey, STEP_TIMEOUT_MS } from './harness.mjs';

const SYMBOL = process.env.SYMBOL || 'AAPL';
const ROLL_TIMEOUT_MS = Number(process.env.ROLL_TIMEOUT_S || 75) * 1000;

const { log, step, screenshot, checkProblems, launch, run } = journey('chart', { totalTimeoutMs: 60_000 + ROLL_TIMEOUT_MS });

/** The chart's last candle and the header's live price, read in one go (one render shows both). */
function readChart(page) {
  return page.evaluate(() => {
    const el = document.querySelector('[data-testid=price-chart]');
    const live = document.querySelector('[data-testid=live-price] .text-2xl')?.textContent ?? null;
    if (!el) return null;
    const num = (k) => (el.getAttribute(k) === null ? null : Number(el.getAttribute(k)));
    return {
      candles: num('data-candles'),
      time: el.getAttribute('data-last-time'),
      open: num('data-last-open'),
      high: num('data-last-high'),
      low: num('data-last-low'),
      close: num('data-last-close'),
      live: live ? Number(live.replace(/,/g, '')) : null,
    };
  });
}

function checkCandle(c, what) {
  if (!c || !c.time || ![c.open, c.high, c.low, c.close].every(Number.isFinite)) throw new Error(`${what}: no candle (${JSON.stringify(c)})`);
  if (!(c.low <= Math.min(c.open, c.close) && Math.max(c.open, c.close) <= c.high)) throw new Error(`${what}: inconsistent OHLC ${JSON.stringify(c)}`);
  const t = Date.parse(c.time);
  if (t % 60_000 !== 0) throw new Error(`${what}: candle time ${c.time} is not on a minute`);
  // the live candle is this minute's (the browser and the server share the machine's clock)
  if (Math.abs(Date.now() - t) > 3 * 60_000) throw new Error(`${what}: candle time ${c.time} is not the current minute`);
}

async function main() {
  const page = await launch({ viewport: { width: 1440, height: 1000 } });

  await step(`open the ${SYMBOL} page`, async () => {
    const resp = await page.goto(`${BASE_URL}/stocks/${SYMBOL}`, { waitUntil: 'domcontentloaded' });
    if (!resp || !resp.ok()) throw new Error(`GET /stocks/${SYMBOL} returned ${resp ? resp.status() : 'no response'}`);
    await page.locator('[data-testid=price-chart] canvas').first().waitFor({ state: 'attached' });
  });

  await step('see the live price change', async () => {
    const price = page.locator('[data-testid=live-price] .text-2xl');
    await price.waitFor();
    const first = (await price.textContent())?.trim();
    log(`live price ${first}`);
    await page.waitForFunction(
      (before) => {
        const now = document.querySelector('[data-testid=live-price] .text-2xl')?.textContent?.trim();
        return now && now !== before;
      },
      first,
      { timeout: STEP_TIMEOUT_MS },
    );
    log(`live price moved: ${first} -> ${(await price.textContent())?.trim()}`);
  });

  await step('the market is open (the replay feed), no closed note', async () => {
    if (await page.getByTestId('market-closed').count()) throw new Error('a market-closed note is shown while the feed is live');
  });

  const first = await step('switch to 1-minute candles', async () => {
    await page.getByTestId('interval-1m').click();
    await page.waitForFunction(
      () => {
        const el = document.querySelector('[data-testid=chart-panel][data-timeframe="1m"] [data-testid=price-chart]');
        return el && Number(el.getAttribute('data-candles')) >= 1;
      },
      undefined,
      { timeout: STEP_TIMEOUT_MS },
    );
    const c = await readChart(page);
    checkCandle(c, 'the first 1-minute chart');
    log(`1-minute chart: ${c.candles} candles, last ${c.time} O ${c.open} H ${c.high} L ${c.low} C ${c.close}`);
    return c;
  });
  await screenshot(page, '01-chart-1m');

  await step('a live tick updates the current candle', async () => {
    await page.waitForFunction(
      (before) => {
        const el = document.querySelector('[data-testid=price-chart]');
        return el && (el.getAttribute('data-last-close') !== String(before.close) || el.getAttribute('data-last-time') !== before.time);
      },
      first,
      { timeout: STEP_TIMEOUT_MS },
    );
    const c = await readChart(page);
    checkCandle(c, 'after a tick');
    if (c.live === null || Math.abs(c.close - c.live) > 0.005) throw new Error(`the candle closes at ${c.close}, the live price is ${c.live}`);
    log(`live candle ${c.time}: O ${c.open} H ${c.high} L ${c.low} C ${c.close} (live price ${c.live})`);
  });

  await step('the minute rolls over into a new live candle', async () => {
    const before = await readChart(page);
    await page.waitForFunction(
      (t) => {
        const el = document.querySelector('[data-testid=price-chart]');
        return el && el.getAttribute('data-last-time') && el.getAttribute('data-last-time') > t;
      },
      before.time,
      { timeout: ROLL_TIMEOUT_MS },
    );
    const c = await readChart(page);
    checkCandle(c, 'the new candle');
    if (Date.parse(c.time) - Date.parse(before.time) < 60_000) throw new Error(`the new candle ${c.time} is not after ${before.time}`);
    if (c.candles < before.candles) throw new Error(`candles went from ${before.candles} to ${c.candles}`);
    log(`new candle ${c.time} (after ${before.time}): O ${c.open} H ${c.high} L ${c.low} C ${c.close}; ${c.candles} candles`);
  });

  await step('overlays and panes draw on the live chart', async () => {
    await page.getByTestId('toggle-sma').click();
    await page.getByTestId('toggle-rsi').click();
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid=price-chart]');
      return el && el.getAttribute('data-overlays') === 'sma20 sma50' && el.getAttribute('data-panes') === 'rsi';
    });
    await page.getByTestId('interval-1d').click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=price-chart]')?.getAttribute('data-candles')) > 1000);
    const c = await readChart(page);
    log(`daily chart: ${c.candles} bars, last ${c.time} C ${c.close} (overlays kept)`);
  });
  await page.waitForTimeout(500);
  await screenshot(page, '02-chart-1d-indicators');
  checkProblems();
}

run(main);
