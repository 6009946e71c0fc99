#!/usr/bin/env node
// Alerts end to end against a running `make dev` (settings in harness.mjs): sign in as the demo user, create a
// price-crossing alert near the replayed price, see the toast and the bell count change live, open the alert's
// history and see the firing explained with its delivery.
import { BASE_URL, demoLogin, journey } from './harness.mjs';

const { log, step, screenshot, checkProblems, launch, run } = journey('alerts', { totalTimeoutMs: 180_000 });
/** The demo account's own alerts watch AAPL and MSFT: the journey's alert watches another stock. */
const CANDIDATES = ['XOM', 'JPM', 'JNJ', 'NVDA', 'GOOGL'];
/** The replay feed walks a whole session in 60 steps (30 s at the e2e's FEED_INTERVAL=0.5): any level inside it is crossed. */
const FIRE_TIMEOUT_MS = 75_000;

const unreadOf = (label) => Number(/(\d+) unread/.exec(label ?? '')?.[1] ?? 0);

async function main() {
  const login = demoLogin();
  const page = await launch();

  await step('sign in with the demo login', async () => {
    await page.goto(`${BASE_URL}/login`, { waitUntil: 'domcontentloaded' });
    await page.getByLabel('Email').fill(login.email);
    await page.getByLabel('Password').fill(login.password);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('user-menu').waitFor();
    await page.getByTestId('notification-bell').waitFor();
  });

  const { symbol, low, high } = await step('pick a stock with a replayed session', async () => {
    for (const sym of CANDIDATES) {
      const resp = await page.request.get(`${BASE_URL}/api/securities/${sym}/bars?limit=1`);
      if (!resp.ok()) continue;
      const bar = (await resp.json()).data?.[0];
      if (bar && bar.high > bar.low) {
        log(`${sym}: last session ${bar.date} low ${bar.low} high ${bar.high}`);
        return { symbol: sym, low: bar.low, high: bar.high };
      }
    }
    throw new Error(`none of ${CANDIDATES.join(', ')} has a session to replay`);
  });

  const name = `Journey ${symbol} ${Date.now().toString(36)}`;
  const level = await step('open the alert builder and read the live price', async () => {
    // the stock page's "Set alert" link opens the builder for the symbol
    await page.goto(`${BASE_URL}/alerts?symbol=${symbol}`, { waitUntil: 'domcontentloaded' });
    const dialog = page.getByRole('dialog', { name: 'New alert' });
    await dialog.waitFor();
    const last = dialog.getByTestId('alert-last-price');
    await last.waitFor();
    const first = Number(await last.getAttribute('data-price'));
    await page.waitForTimeout(1500);
    const second = Number(await last.getAttribute('data-price'));
    // a level a little ahead of the price, the way it is moving, inside the session's range
    const range = high - low;
    const direction = second >= first ? 1 : -1;
    const target = Math.min(high - range * 0.05, Math.max(low + range * 0.05, second + direction * range * 0.08));
    const chosen = Math.round(target * 100) / 100;
    log(`live price of ${symbol}: ${first} then ${second} (shown "${(await last.textContent())?.trim()}"); level ${chosen}`);
    return chosen;
  });

  const before = await step('create a price-crossing alert at that level', async () => {
    const dialog = page.getByRole('dialog', { name: 'New alert' });
    await dialog.getByLabel('Condition', { exact: true }).selectOption('crossing');
    await dialog.getByLabel('Value', { exact: true }).fill(String(level));
    await dialog.getByLabel('Trigger').selectOption('every_time');
    await dialog.getByLabel('Name (optional)').fill(name);
    await screenshot(page, 'alerts-00-builder');
    await dialog.getByTestId('alert-submit').click();
    await dialog.waitFor({ state: 'detached' });
    const row = page.locator('[data-testid=alert-row]', { hasText: name });
    await row.waitFor();
    const status = await row.getByTestId('alert-status').textContent();
    const facts = await row.getByTestId('alert-facts').textContent();
    log(`created "${name}": ${status} · ${facts}`);
    if (status !== 'Active') throw new Error(`the new alert is "${status}", expected Active`);
    const unread = unreadOf(await page.getByTestId('notification-bell').getAttribute('aria-label'));
    log(`bell before: ${unread} unread`);
    return unread;
  });
  await screenshot(page, 'alerts-01-created');

  await step('see the toast and the bell count change live', async () => {
    const toast = page.locator('[data-testid=toast]', { hasText: `Alert: ${symbol}` }).first();
    const t0 = Date.now();
    await toast.waitFor({ timeout: FIRE_TIMEOUT_MS });
    log(`toast after ${((Date.now() - t0) / 1000).toFixed(1)}s: "${(await toast.textContent())?.replace(/\s+/g, ' ').trim()}"`);
    await page.waitForFunction(
      (n) => {
        const label = document.querySelector('[data-testid=notification-bell]')?.getAttribute('aria-label') ?? '';
        return Number(/(\d+) unread/.exec(label)?.[1] ?? 0) > n;
      },
      before,
      { timeout: 10_000 },
    );
    const after = unreadOf(await page.getByTestId('notification-bell').getAttribute('aria-label'));
    log(`bell after: ${after} unread (was ${before})`);
    // the alert's row follows: it has fired
    const row = page.locator('[data-testid=alert-row]', { hasText: name });
    await page.waitForFunction(
      (alertName) =>
        [...document.querySelectorAll('[data-testid=alert-row]')].some(
          (r) => r.textContent?.includes(alertName) && /Fired \d+ time/.test(r.querySelector('[data-testid=alert-facts]')?.textContent ?? ''),
        ),
      name,
      { timeout: 10_000 },
    );
    log(`row: ${(await row.getByTestId('alert-facts').textContent())?.trim()}`);
  });
  await screenshot(page, 'alerts-02-fired');

  await step("open the alert's history and see the firing", async () => {
    const row = page.locator('[data-testid=alert-row]', { hasText: name });
    await row.getByTestId('alert-history-button').click();
    const dialog = page.getByRole('dialog', { name: `History: ${name}` });
    await dialog.waitFor();
    const event = dialog.getByTestId('alert-event').first();
    await event.waitFor();
    // the delivery statuses are recorded once every channel has run: reload the history until they are
    const deadline = Date.now() + 20_000;
    let delivery = '';
    for (;;) {
      delivery = ((await dialog.getByTestId('alert-event').first().getByTestId('event-delivery').textContent()) ?? '').trim();
      if (delivery.includes('In-app: sent') || Date.now() > deadline) break;
      await page.waitForTimeout(1000);
      await page.reload({ waitUntil: 'domcontentloaded' });
      await dialog.getByTestId('alert-event').first().waitFor();
    }
    const first = dialog.getByTestId('alert-event').first();
    const message = (await first.getByTestId('event-message').textContent())?.trim();
    const clause = (await first.getByTestId('event-clause').first().textContent())?.replace(/\s+/g, ' ').trim();
    log(`history: ${await dialog.getByTestId('alert-event').count()} firing(s); "${message}"; clause "${clause}"; delivery "${delivery}"`);
    if (!message?.includes(symbol)) throw new Error(`the firing's message does not name ${symbol}: "${message}"`);
    if (!delivery.includes('In-app: sent')) throw new Error(`the in-app delivery is not recorded: "${delivery}"`);
    if (!/Live \(browser\): sent to \d+/.test(delivery)) throw new Error(`the WebSocket delivery is not recorded: "${delivery}"`);
  });
  await page.waitForTimeout(500);
  checkProblems();
  await screenshot(page, 'alerts-03-history');
}

run(main);
