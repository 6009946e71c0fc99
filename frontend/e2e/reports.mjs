#!/usr/bin/env node
// The Reports page against a running Stockscreen (`make dev`): sign in as the demo account, see the
// daily digest make dev sent it listed, download its PDF through the presigned link (a real browser
// download from the local S3), check it is a PDF, and save the schedule with a time zone.
//   BASE_URL, CHROMIUM_PATH, DEMO_LOGIN_FILE, SCREENSHOT_DIR: as for journey.mjs
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:8000').replace(/\/+$/, '');
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || '';
const EXECUTABLE = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const DEMO_LOGIN_FILE = process.env.DEMO_LOGIN_FILE || fileURLToPath(new URL('../../.local/demo-login.json', import.meta.url));
const STEP_TIMEOUT_MS = 20_000;

const started = Date.now();
const log = (msg) => console.log(`[reports +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
const problems = [];
let context;
let userDataDir;

async function cleanup() {
  try {
    if (context) await context.close();
  } catch {
    /* ignore */
  }
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
}

const watchdog = setTimeout(async () => {
  console.error('[reports] FAILED: total timeout of 120s exceeded');
  await cleanup();
  process.exit(1);
}, 120_000);

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
  const login = JSON.parse(readFileSync(DEMO_LOGIN_FILE, 'utf8'));
  userDataDir = mkdtempSync(join(tmpdir(), 'stockscreen-e2e-reports-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: EXECUTABLE,
    headless: true,
    acceptDownloads: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-dev-shm-usage'],
    viewport: { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => problems.push(`uncaught page error: ${err.message}`));
  page.on('response', (resp) => {
    if (resp.status() >= 400 && resp.url().includes('/api/')) problems.push(`API ${resp.status()} ${resp.url()}`);
  });

  await step('sign in with the demo login', async () => {
    await page.goto(`${BASE_URL}/login`, { waitUntil: 'domcontentloaded' });
    await page.getByLabel('Email').fill(login.email);
    await page.getByLabel('Password').fill(login.password);
    await page.getByTestId('login-submit').click();
    await page.waitForURL((url) => url.pathname === '/');
    await page.getByTestId('user-menu').waitFor();
  });

  const title = await step('open Reports from the navigation and see the digest listed', async () => {
    await page.getByRole('link', { name: 'Reports' }).first().click();
    await page.waitForURL(/\/reports$/);
    const row = page.getByTestId('report-row').first();
    await row.waitFor();
    const text = ((await row.textContent()) ?? '').replace(/\s+/g, ' ');
    log(`first report row: "${text}"`);
    if (!/Daily digest, \d{4}-\d\d-\d\d/.test(text)) throw new Error(`no daily digest listed: "${text}"`);
    if (!text.includes('Emailed')) throw new Error(`the digest is not marked emailed: "${text}"`);
    return /Daily digest, \d{4}-\d\d-\d\d/.exec(text)[0];
  });
  if (SCREENSHOT_DIR) {
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'reports.png'), fullPage: true });
  }

  await step('download the PDF', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: `Download ${title} as PDF` }).click(),
    ]);
    const path = await download.path();
    const bytes = readFileSync(path);
    const head = bytes.subarray(0, 5).toString('latin1');
    log(`downloaded ${download.suggestedFilename()}: ${bytes.length} bytes, starts ${JSON.stringify(head)}`);
    if (head !== '%PDF-') throw new Error(`the download is not a PDF (starts ${JSON.stringify(head)})`);
    if (!download.suggestedFilename().endsWith('.pdf')) throw new Error(`file name ${download.suggestedFilename()}`);
  });

  await step('save the schedule with a time zone', async () => {
    const form = page.getByRole('form', { name: 'Report schedule' });
    await form.getByLabel('Time zone').selectOption('Europe/Paris');
    await form.getByLabel('Local time').fill('07:30');
    await form.getByRole('button', { name: 'Save schedule' }).click();
    await form.getByText('Saved').waitFor();
    await page.reload({ waitUntil: 'domcontentloaded' });
    const zone = await page.getByRole('form', { name: 'Report schedule' }).getByLabel('Time zone').inputValue();
    if (zone !== 'Europe/Paris') throw new Error(`after a reload the time zone is ${zone}`);
    log('schedule saved: Europe/Paris 07:30');
  });

  clearTimeout(watchdog);
  await cleanup();
  console.log('[reports] PASSED');
}

main().catch(async (err) => {
  console.error(`[reports] FAILED: ${err instanceof Error ? err.message : String(err)}`);
  await cleanup();
  process.exit(1);
});
