#!/usr/bin/env node
// The Reports page against a running Stockscreen (`make dev`): sign in as the demo account, see the
// daily digest make dev sent it listed, download its PDF through the presigned link (a real browser
// download from the local S3), check it is a PDF, and save the schedule with a time zone.
// Settings in harness.mjs.
import { readFileSync } from 'node:fs';
import { BASE_URL, demoLogin, journey } from './harness.mjs';

const { log, step, screenshot, launch, run } = journey('reports', { totalTimeoutMs: 120_000 });

async function main() {
  const login = demoLogin();
  const page = await launch({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });

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
  await screenshot(page, 'reports');

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
}

run(main);
