#!/usr/bin/env node
// End-to-end user journey against a running Stockscreen (backend serving the built SPA); settings in harness.mjs.
import { BASE_URL, demoLogin, journey, STEP_TIMEOUT_MS } from './harness.mjs';

const { log, step, screenshot, checkProblems, launch, run } = journey('journey', { totalTimeoutMs: 150_000 });

async function main() {
  const login = demoLogin();
  const page = await launch();

  await step('open the screener', async () => {
    const response = await page.goto(`${BASE_URL}/`, { waitUntil: 'domcontentloaded' });
    if (!response || !response.ok()) throw new Error(`GET / returned ${response ? response.status() : 'no response'}`);
    await page.getByText('Stockscreen', { exact: true }).first().waitFor();
  });

  const initialCount = await step('wait for the initial results', async () => {
    await page.locator('[data-testid=result-row]').first().waitFor();
    const rows = await page.locator('[data-testid=result-row]').count();
    const text = (await page.getByTestId('result-count').textContent())?.trim() ?? '';
    log(`initial results: ${rows} rows, count text "${text}"`);
    if (rows === 0) throw new Error('no result rows');
    return text;
  });
  await screenshot(page, '01-screener');

  await step('sign in with the demo login', async () => {
    await page.getByTestId('sign-in-link').click();
    await page.waitForURL(/\/login$/);
    await page.getByLabel('Email').fill(login.email);
    await page.getByLabel('Password').fill(login.password);
    await page.getByTestId('login-submit').click();
    await page.waitForURL((url) => url.pathname === '/');
    const menu = page.getByTestId('user-menu');
    await menu.waitFor();
    const text = ((await menu.textContent()) ?? '').replace(/\s+/g, ' ');
    log(`signed in: header shows "${text}"`);
    if (!text.includes(login.email)) throw new Error(`header does not show ${login.email}: "${text}"`);
    const role = (await page.getByTestId('role-badge').textContent())?.trim();
    if (role !== 'premium') throw new Error(`role badge shows "${role}", expected premium`);
    await page.locator('[data-testid=saved-screens]').waitFor();
  });
  await screenshot(page, '02-signed-in');

  await step('add filter Market Cap > 100B', async () => {
    await page.getByTestId('add-filter').click();
    const row = page.getByTestId('filter-row').last();
    await row.getByLabel('Field').selectOption('market_cap');
    await row.getByLabel('Operator').selectOption('>');
    await row.getByLabel('Value').fill('100B');
  });

  await step('run the screen', async () => {
    await page.getByTestId('run-screen').click();
    await page.waitForFunction(
      (before) => {
        const el = document.querySelector('[data-testid=result-count]');
        return el && el.textContent && el.textContent.trim() !== before && /\d/.test(el.textContent);
      },
      initialCount,
      { timeout: STEP_TIMEOUT_MS },
    );
    await page.locator('[data-testid=result-row]').first().waitFor();
    const rows = await page.locator('[data-testid=result-row]').count();
    const text = (await page.getByTestId('result-count').textContent())?.trim();
    log(`filtered results: ${rows} rows, count text "${text}" (was "${initialCount}")`);
    if (rows === 0) throw new Error('no result rows after filtering');
  });
  await screenshot(page, '03-filtered');

  const filteredCount = (await page.getByTestId('result-count').textContent())?.trim() ?? '';
  const screenName = `Journey mega caps ${Date.now().toString(36)}`;

  await step('save the screen', async () => {
    await page.getByTestId('save-screen').click();
    const dialog = page.getByRole('dialog', { name: 'Save screen' });
    await dialog.getByLabel('Name').fill(screenName);
    await dialog.getByTestId('screen-name-submit').click();
    await dialog.waitFor({ state: 'detached' });
    const item = page.getByRole('button', { name: `Open “${screenName}”` });
    await item.waitFor();
    if ((await item.getAttribute('aria-current')) !== 'true') throw new Error('the saved screen is not marked open');
    log(`saved "${screenName}"; the list has ${await page.locator('[data-testid=saved-screen]').count()} screen(s)`);
  });

  await step('explain the first row', async () => {
    const first = page.locator('[data-testid=result-row]').first();
    const sym = (await first.locator('a').first().textContent())?.trim();
    await first.getByTestId('explain-row').click();
    const panel = page.getByTestId('explain-panel');
    await panel.locator('[data-testid=explain-clause]').first().waitFor();
    const clauses = await panel.locator('[data-testid=explain-clause]').allTextContents();
    log(`explain ${sym}: ${clauses.map((c) => c.replace(/\s+/g, ' ')).join(' | ')}`);
    if (!clauses.some((c) => c.includes('market_cap'))) throw new Error('no market_cap clause in the explanation');
    if (!clauses.every((c) => c.includes('Pass'))) throw new Error(`a matching row fails a clause: ${clauses.join(' | ')}`);
    await screenshot(page, '04-explain');
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached' });
    if (new URL(page.url()).pathname !== '/') throw new Error(`explain navigated away to ${page.url()}`);
  });

  await step('reload: the session survives (silent refresh), the screen is listed', async () => {
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.getByTestId('user-menu').waitFor();
    await page.getByRole('button', { name: `Open “${screenName}”` }).waitFor();
  });

  await step('open the saved screen', async () => {
    await page.locator('[data-testid=result-row]').first().waitFor();
    await page.getByRole('button', { name: `Open “${screenName}”` }).click();
    await page.getByTestId('filter-row').first().waitFor();
    await page.waitForFunction(
      (expected) => document.querySelector('[data-testid=result-count]')?.textContent?.trim() === expected,
      filteredCount,
      { timeout: STEP_TIMEOUT_MS },
    );
    log(`reopened "${screenName}": ${filteredCount}`);
  });

  const symbol = await step('open the first result', async () => {
    const first = page.locator('[data-testid=result-row]').first();
    const sym = (await first.locator('a').first().textContent())?.trim();
    if (!sym) throw new Error('first row has no symbol');
    log(`clicking row for ${sym}`);
    await first.locator('td').nth(2).click();
    await page.waitForURL(/\/stocks\/[^/]+$/);
    log(`navigated to ${page.url()}`);
    return sym;
  });

  await step('wait for the chart canvas', async () => {
    await page.locator('[data-testid=price-chart] canvas').first().waitFor({ state: 'attached' });
  });

  await step('check the stock header', async () => {
    const header = page.getByTestId('stock-header');
    await header.waitFor();
    const text = (await header.textContent()) ?? '';
    if (!text.includes(symbol)) throw new Error(`header does not show ${symbol}: "${text.slice(0, 200)}"`);
    log(`header: "${text.replace(/\s+/g, ' ').slice(0, 120)}"`);
  });

  // Let late requests (live feed, stats) settle so their errors are caught too.
  await page.waitForTimeout(1000);
  checkProblems();
  await screenshot(page, '05-stock');

  const stamp = Date.now().toString(36);
  const watchlistName = `Journey list ${stamp}`;

  await step('create a watchlist', async () => {
    await page.getByRole('link', { name: 'Watchlists', exact: true }).click();
    await page.waitForURL(/\/watchlists/);
    await page.getByTestId('new-watchlist').click();
    const dialog = page.getByRole('dialog', { name: 'New watchlist' });
    await dialog.getByLabel('Name').fill(watchlistName);
    await dialog.getByTestId('watchlist-name-submit').click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: watchlistName }).waitFor();
    log(`created watchlist "${watchlistName}" (${page.url()})`);
  });

  await step('add MSFT with the symbol search and see its price', async () => {
    await page.getByTestId('add-symbol').fill('MSFT');
    const option = page.getByTestId('search-option').filter({ hasText: 'MSFT' }).first();
    await option.click();
    const row = page.locator('[data-testid=watchlist-item][data-symbol=MSFT]');
    await row.waitFor();
    await page.waitForFunction(
      () => /\d+\.\d\d/.test(document.querySelector('[data-testid=watchlist-item][data-symbol=MSFT] [data-testid=item-price]')?.textContent ?? ''),
      undefined,
      { timeout: STEP_TIMEOUT_MS },
    );
    const price = (await row.getByTestId('item-price').textContent())?.trim();
    const change = (await row.getByTestId('item-change-pct').textContent())?.trim();
    log(`watchlist row MSFT: price ${price}, change ${change}`);
    await page.getByTestId('live-status').filter({ hasText: /^\s*Live\s*$/ }).waitFor();
  });
  await screenshot(page, '06-watchlist');

  const portfolioName = `Journey portfolio ${stamp}`;

  await step('create a portfolio', async () => {
    await page.getByRole('link', { name: 'Portfolios', exact: true }).click();
    await page.waitForURL(/\/portfolios/);
    await page.getByTestId('new-portfolio').click();
    const dialog = page.getByRole('dialog', { name: 'New portfolio' });
    await dialog.getByLabel('Name').fill(portfolioName);
    await dialog.getByTestId('portfolio-name-submit').click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: portfolioName }).waitFor();
    log(`created portfolio "${portfolioName}"`);
  });

  await step('add a buy of 10 AAPL and see the holding', async () => {
    await page.getByTestId('add-transaction').click();
    const dialog = page.getByRole('dialog', { name: 'Add transaction' });
    await dialog.getByLabel('Type').selectOption('buy');
    await dialog.getByTestId('transaction-symbol').fill('AAPL');
    await dialog.getByTestId('search-option').filter({ hasText: 'AAPL' }).first().click();
    await dialog.getByLabel('Date').fill('2018-01-02');
    await dialog.getByLabel('Quantity').fill('10');
    await dialog.getByLabel('Price per share').fill('170');
    await dialog.getByLabel('Fees').fill('1');
    await dialog.getByTestId('transaction-submit').click();
    await dialog.waitFor({ state: 'detached' });
    const holding = page.locator('[data-testid=holding][data-symbol=AAPL]');
    await holding.waitFor();
    const qty = (await holding.getByTestId('holding-quantity').textContent())?.trim();
    const value = (await holding.getByTestId('holding-value').textContent())?.trim();
    log(`holding AAPL: quantity ${qty}, market value ${value}`);
    if (qty !== '10') throw new Error(`holding quantity is "${qty}", expected 10`);
    if (!/^\d{1,3}(,\d{3})*\.\d\d$/.test(value ?? '')) throw new Error(`holding market value is "${value}"`);
    await page.locator('[data-testid=performance-chart] canvas').first().waitFor({ state: 'attached' });
    log(`performance: portfolio ${(await page.getByTestId('portfolio-return').textContent())?.trim()}`);
  });
  await page.waitForTimeout(500);
  checkProblems();
  await screenshot(page, '07-portfolio');
}

run(main);
