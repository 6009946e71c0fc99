#!/usr/bin/env node
// The admin journey against a running Stockscreen (`make dev`): an admin signs in, opens the admin
// area's Data page, sees the runs and the findings, releases a quarantined row, uploads a file into
// the drop folder and follows its ingest run to the end (which loads the released row), then finds the
// release in the audit log and a user in Users, and sees its own requests and the run on Operations.
//   BASE_URL          default http://127.0.0.1:8000
//   ADMIN_LOGIN_FILE  the admin account `make dev` keeps in $STOCKSCREEN_LOCAL_DIR/admin-login.json
//                     (default: the repository's .local/admin-login.json)
//   SCREENSHOT_DIR    optional: where to save PNG screenshots
//   CHROMIUM_PATH     optional: default /usr/bin/chromium
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:8000').replace(/\/+$/, '');
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || '';
const EXECUTABLE = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ADMIN_LOGIN_FILE = process.env.ADMIN_LOGIN_FILE || fileURLToPath(new URL('../../.local/admin-login.json', import.meta.url));
const TOTAL_TIMEOUT_MS = 180_000;
const STEP_TIMEOUT_MS = 30_000;

const started = Date.now();
const log = (msg) => console.log(`[admin +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
const problems = [];
let context;
let workDir;

async function cleanup() {
  try {
    if (context) await context.close();
  } catch {
    /* ignore */
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}

async function fail(message) {
  console.error(`[admin] FAILED: ${message}`);
  await cleanup();
  process.exit(1);
}

const watchdog = setTimeout(() => void fail(`total timeout of ${TOTAL_TIMEOUT_MS / 1000}s exceeded`), TOTAL_TIMEOUT_MS);

async function screenshot(page, name) {
  if (!SCREENSHOT_DIR) return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

async function step(name, fn) {
  log(`STEP ${name}`);
  try {
    const result = await fn();
    if (problems.length > 0) throw new Error(`browser reported errors:\n  - ${problems.join('\n  - ')}`);
    return result;
  } catch (err) {
    throw new Error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function main() {
  const login = JSON.parse(readFileSync(ADMIN_LOGIN_FILE, 'utf8'));
  if (!login.email || !login.password) throw new Error(`${ADMIN_LOGIN_FILE} has no email/password`);
  workDir = mkdtempSync(join(tmpdir(), 'stockscreen-admin-e2e-'));
  context = await chromium.launchPersistentContext(join(workDir, 'profile'), {
    executablePath: EXECUTABLE,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    viewport: { width: 1440, height: 1000 },
  });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => problems.push(`uncaught page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('response', async (resp) => {
    if (resp.status() < 400 || !resp.url().includes('/api/')) return;
    problems.push(`API ${resp.status()} ${resp.request().method()} ${resp.url()}: ${(await resp.text().catch(() => '')).slice(0, 300)}`);
  });

  await step('sign in as the admin', async () => {
    await page.goto(`${BASE_URL}/login`, { waitUntil: 'domcontentloaded' });
    await page.getByLabel('Email').fill(login.email);
    await page.getByLabel('Password').fill(login.password);
    await page.getByTestId('login-submit').click();
    await page.waitForURL((url) => url.pathname === '/');
    const role = (await page.getByTestId('role-badge').textContent())?.trim();
    if (role !== 'admin') throw new Error(`role badge shows "${role}", expected admin`);
  });

  await step('open the admin area from the nav: Data', async () => {
    await page.getByRole('link', { name: 'Admin', exact: true }).click();
    await page.waitForURL(/\/admin\/data$/);
    const runs = page.getByRole('region', { name: /Ingest runs/ });
    await runs.locator('tbody tr').first().waitFor();
    const first = runs.locator('tbody tr').first();
    const cells = await first.locator('td').allTextContents();
    log(`latest run: ${cells.slice(0, 5).join(' | ')}`);
    if (!cells.includes('succeeded')) throw new Error(`the latest run is not succeeded: ${cells.join(' | ')}`);
    if (!/\d s$/.test(cells[3] ?? '')) throw new Error(`no duration: "${cells[3]}"`);
    await page.getByRole('img', { name: /Findings per rule over/ }).waitFor();
  });

  await step('see the findings and filter them by rule', async () => {
    const panel = page.getByRole('region', { name: /^Findings \(\d+\)$/ });
    await panel.locator('tbody tr').first().waitFor();
    const heading = (await panel.getByRole('heading').textContent())?.trim();
    log(`findings: ${heading}`);
    // the rule of the last row listed (findings are oldest first): filter on it
    const rule = ((await panel.locator('[data-testid^="finding-"] td:first-child').last().textContent()) ?? '').trim();
    await panel.getByLabel('Rule').fill(rule);
    await page.waitForFunction((r) => {
      const rows = [...document.querySelectorAll('[data-testid^="finding-"] td:first-child')].map((td) => td.textContent);
      return rows.length > 0 && rows.every((x) => x === r);
    }, rule);
    log(`filtered: ${(await panel.getByRole('heading').textContent())?.trim()} (${rule} only)`);
  });
  await screenshot(page, '10-admin-data');

  const released = await step('release a quarantined row after review', async () => {
    const panel = page.getByRole('region', { name: /^Quarantined rows/ });
    await panel.locator('tbody tr').first().waitFor();
    const button = panel.getByRole('button', { name: /^Release / }).first();
    // rows quarantined for their form (no date, no numbers) cannot be released: page on to one that can
    for (let pages = 0; (await button.count()) === 0; pages++) {
      const next = panel.getByRole('button', { name: 'Next' });
      if (pages > 20 || (await next.count()) === 0 || (await next.isDisabled())) throw new Error('no releasable quarantined row');
      const first = await panel.locator('tbody tr').first().textContent();
      await next.click();
      await page.waitForFunction(
        ([was]) => document.querySelector('[aria-labelledby="quarantine-heading"] tbody tr')?.textContent !== was,
        [first],
      );
    }
    const label = (await button.getAttribute('aria-label')) ?? '';
    const values = await button.locator('xpath=ancestor::tr').locator('td').allTextContents();
    log(`quarantined row: ${values.slice(0, 9).join(' | ')}`);
    await button.click();
    const what = label.replace(/^Release /, '');
    await page.getByText(`Released ${what}: the next run loads it`).first().waitFor(); // (the toast and its announcement)
    await panel.locator('tr', { hasText: 'released' }).first().waitFor();
    log(`released ${what}`);
    return what;
  });

  await step('upload a file and follow its run until it has loaded', async () => {
    const file = join(workDir, 'aapl-admin.csv');
    writeFileSync(file, 'date,open,high,low,close,volume,Name\n2018-02-08,160.29,161.00,155.03,155.15,54390516,AAPL\n');
    await page.locator('input[type=file][aria-label="Data file"]').setInputFiles(file);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    const box = page.getByTestId('upload-progress');
    await box.waitFor();
    await box.getByText('Report: done').waitFor({ timeout: 120_000 });
    const text = ((await box.textContent()) ?? '').replace(/\s+/g, ' ');
    log(`upload: ${text.slice(0, 200)}`);
    if (!text.includes('succeeded')) throw new Error(`the upload's run did not succeed: ${text}`);
    // the run also loaded the released row
    const panel = page.getByRole('region', { name: /^Quarantined rows/ });
    await panel.getByText('released, loaded').first().waitFor();
    log(`${released}: released, loaded`);
  });
  await screenshot(page, '11-admin-upload');

  await step('find the release in the audit log', async () => {
    await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Audit log' }).click();
    await page.waitForURL(/\/admin\/audit$/);
    await page.getByLabel('Filter by action').fill('admin.quarantine_release');
    const row = page.locator('tbody tr', { hasText: 'admin.quarantine_release' }).first();
    await row.waitFor();
    log(`audit: ${((await row.textContent()) ?? '').replace(/\s+/g, ' ').slice(0, 200)}`);
  });

  await step('search the users', async () => {
    await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Users' }).click();
    await page.getByLabel('Search users').fill('demo@');
    await page.getByTestId('user-demo@stockscreen.local').waitFor();
    log('users: demo@stockscreen.local found');
  });
  await screenshot(page, '12-admin-users');

  await step('see the journey requests and its ingest run on the Operations page', async () => {
    // a few requests of our own, so the busiest routes have one we know
    for (let i = 0; i < 5; i++) {
      const resp = await fetch(`${BASE_URL}/api/screener/fields`);
      if (resp.status !== 200) throw new Error(`GET /api/screener/fields: ${resp.status}`);
    }
    await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Operations' }).click();
    await page.waitForURL(/\/admin\/operations$/);
    const health = page.getByTestId('ops-health');
    await health.waitFor();
    log(`operations health: ${((await health.getByRole('heading').textContent()) ?? '').trim()}`);
    const row = page.getByTestId('ops-routes').locator('tr', { hasText: 'GET /screener/fields' });
    await row.waitFor();
    const cells = await row.locator('th, td').allTextContents();
    log(`operations route: ${cells.join(' | ')}`);
    if (!(Number(cells[1]?.replace(/,/g, '')) >= 5)) throw new Error(`expected at least 5 requests: ${cells.join(' | ')}`);
    if (!/\d/.test(cells[4] ?? '')) throw new Error(`no p99 latency: ${cells.join(' | ')}`);
    const requests = Number(((await page.getByTestId('ops-total-requests').textContent()) ?? '').replace(/,/g, ''));
    const runs = Number(((await page.getByTestId('ops-total-ingest-runs').textContent()) ?? '').replace(/,/g, ''));
    log(`operations totals: ${requests} requests, ${runs} ingest run(s)`);
    if (!(requests >= 5)) throw new Error(`total requests ${requests}`);
    if (!(runs >= 1)) throw new Error('the ingest run of the upload is not counted');
    // the requests chart is drawn (a canvas), and its figures are in a table too
    await page.getByTestId('ops-line-requests').locator('canvas').first().waitFor();
    const chart = page.getByTestId('ops-chart-requests');
    await chart.getByText('Table of the figures').click();
    const last = chart.locator('tbody tr').last();
    log(`operations requests, last minute: ${((await last.textContent()) ?? '').replace(/\s+/g, ' ')}`);
  });
  await screenshot(page, '13-admin-operations');

  log(`PASSED in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

main()
  .then(async () => {
    clearTimeout(watchdog);
    await cleanup();
    process.exit(0);
  })
  .catch(async (err) => {
    clearTimeout(watchdog);
    await fail(err instanceof Error ? err.message : String(err));
  });
