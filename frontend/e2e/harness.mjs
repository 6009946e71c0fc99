// What every browser journey shares: the settings from the environment, a headless Chromium (playwright-core +
// Debian's build) whose page errors, console errors and API error responses fail the run, named steps, screenshots.
//   BASE_URL        default http://127.0.0.1:8000
//   SCREENSHOT_DIR  optional: where to save PNG screenshots
//   CHROMIUM_PATH   optional: default /usr/bin/chromium
//   ALLOW_CONSOLE_ERRORS optional regex of console error texts to tolerate
//   DEMO_LOGIN_FILE optional: the demo account `make dev` keeps in $STOCKSCREEN_LOCAL_DIR/demo-login.json
//                   (default: the repository's .local/demo-login.json)
//   ADMIN_LOGIN_FILE optional: the admin account, likewise in admin-login.json
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:8000').replace(/\/+$/, '');
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || '';
const EXECUTABLE = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ALLOW = process.env.ALLOW_CONSOLE_ERRORS ? new RegExp(process.env.ALLOW_CONSOLE_ERRORS) : null;
const localFile = (name) => fileURLToPath(new URL(`../../.local/${name}`, import.meta.url));
export const STEP_TIMEOUT_MS = 20_000;

function readLogin(file, variable) {
  let login;
  try {
    login = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the login from ${file} (set ${variable}): ${err.message}`);
  }
  if (!login.email || !login.password) throw new Error(`${file} has no email/password`);
  return login;
}

/** The demo account's email and password, as `make dev` wrote them. */
export function demoLogin() {
  return readLogin(process.env.DEMO_LOGIN_FILE || localFile('demo-login.json'), 'DEMO_LOGIN_FILE');
}

/** The admin account's email and password, as `make dev` wrote them. */
export function adminLogin() {
  return readLogin(process.env.ADMIN_LOGIN_FILE || localFile('admin-login.json'), 'ADMIN_LOGIN_FILE');
}

/** One journey: `name` prefixes its log lines; the whole run fails after `totalTimeoutMs`; each browser wait
 * defaults to `stepTimeoutMs`. */
export function journey(name, { totalTimeoutMs, stepTimeoutMs = STEP_TIMEOUT_MS }) {
  const started = Date.now();
  const log = (msg) => console.log(`[${name} +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
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

  /** The journey's scratch folder (the browser profile is in it), removed at the end. */
  function scratch() {
    workDir ??= mkdtempSync(join(tmpdir(), `stockscreen-e2e-${name}-`));
    return workDir;
  }

  /** A file with `content` in the scratch folder; returns its path. */
  function tempFile(file, content) {
    const path = join(scratch(), file);
    writeFileSync(path, content);
    return path;
  }

  async function fail(message) {
    console.error(`[${name}] FAILED: ${message}`);
    await cleanup();
    process.exit(1);
  }

  async function screenshot(page, file) {
    if (!SCREENSHOT_DIR) return;
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const path = join(SCREENSHOT_DIR, `${file}.png`);
    await page.screenshot({ path, fullPage: true });
    log(`screenshot saved: ${path}`);
  }

  function checkProblems() {
    if (problems.length > 0) throw new Error(`browser reported errors:\n  - ${problems.join('\n  - ')}`);
  }

  async function step(title, fn) {
    log(`STEP ${title}`);
    try {
      const result = await fn();
      checkProblems();
      return result;
    } catch (err) {
      throw new Error(`${title}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** A fresh profile's first page, watched for page errors, console errors and API error responses.
   * `viewport` defaults to 1440x900; `acceptDownloads` as Playwright (true). */
  async function launch({ viewport = { width: 1440, height: 900 }, acceptDownloads = true } = {}) {
    const profile = join(scratch(), 'profile');
    log(`launching ${EXECUTABLE} (profile ${profile}) against ${BASE_URL}`);
    context = await chromium.launchPersistentContext(profile, {
      executablePath: EXECUTABLE,
      headless: true,
      acceptDownloads,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
      viewport,
    });
    context.setDefaultTimeout(stepTimeoutMs);
    const page = context.pages()[0] ?? (await context.newPage());

    page.on('pageerror', (err) => problems.push(`uncaught page error: ${err.message}`));
    page.on('response', async (resp) => {
      // an API error is reported with its body: the uniform error says what went wrong
      if (resp.status() < 400 || !resp.url().includes('/api/')) return;
      let text = '';
      try {
        text = (await resp.text()).slice(0, 500);
      } catch {
        text = '(body unavailable)';
      }
      const sent = resp.request().postData();
      problems.push(`API ${resp.status()} ${resp.request().method()} ${resp.url()}: ${text}${sent ? ` (sent ${sent.slice(0, 300)})` : ''}`);
    });
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const text = msg.text();
      if (ALLOW && ALLOW.test(text)) return;
      const loc = msg.location();
      problems.push(`console error: ${text}${loc?.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`);
    });
    return page;
  }

  /** Run the journey: exit 0 after "PASSED", 1 with the failing step's message. */
  function run(main) {
    const watchdog = setTimeout(() => {
      void fail(`total timeout of ${totalTimeoutMs / 1000}s exceeded`);
    }, totalTimeoutMs);
    main()
      .then(async () => {
        clearTimeout(watchdog);
        log(`PASSED in ${((Date.now() - started) / 1000).toFixed(1)}s`);
        await cleanup();
        process.exit(0);
      })
      .catch(async (err) => {
        clearTimeout(watchdog);
        await fail(err instanceof Error ? err.message : String(err));
      });
  }

  return { log, step, screenshot, checkProblems, launch, run, tempFile };
}
