import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ScreenerRoute } from '@/app/routes/screener';
import { SharedScreenRoute } from '@/app/routes/shared-screen';
import { useScreenerStore } from '@/features/screener/stores/screener-store';
import { setSession } from '@/lib/session';
import { fieldsFixture, presetsFixture, screenFixture } from '@/test/fixtures';
import { errorResponse, jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';
import type { SavedScreen } from '../api/keys';

const LARGE_CAPS_AST = {
  kind: 'compare',
  left: { kind: 'field', name: 'market_cap', offset: 0, timeframe: 'daily' },
  op: '>',
  right: { kind: 'num', value: 10_000_000_000, percent: false },
};

const OVERSOLD_AST = presetsFixture.data[0]!.ast;

function saved(id: number, overrides: Partial<SavedScreen> = {}): SavedScreen {
  return {
    id: `00000000-0000-4000-8000-00000000000${id}`,
    name: `Screen ${id}`,
    description: null,
    query: 'market_cap > 10000000000',
    ast: LARGE_CAPS_AST,
    sort: 'market_cap',
    order: 'desc',
    columns: null,
    created_at: '2024-01-01T00:00:00+00:00',
    updated_at: '2024-01-01T00:00:00+00:00',
    share_token: null,
    shared_at: null,
    ...overrides,
  };
}

type Sent = { method: string; url: string; body: unknown; auth: string | null };

/** The count badge: compact on screen ("2/3"), whole for screen readers ("2 of 3 saved"). */
function expectCount(p: ReturnType<typeof within>, count: number, limit: number) {
  const badge = p.getByTestId('saved-count');
  expect(badge).toHaveTextContent(`${count} of ${limit} saved`);
  expect(within(badge).getByText(`${count}/${limit}`)).toHaveAttribute('aria-hidden', 'true');
}

/** An in-memory stand-in for the saved-screens API, with the free plan's quota. */
function fakeApi({ screens = [] as SavedScreen[], limit = 3 } = {}) {
  const state = { screens: [...screens], nextId: 7 };
  const sent: Sent[] = [];
  const quota = () =>
    errorResponse(403, 'forbidden', `quota reached: saved screens is limited to ${limit} on the free plan`, {
      quota: 'saved_screens',
      limit,
      used: state.screens.length,
      role: 'free',
    });
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    const body = init?.body ? (JSON.parse(String(init.body)) as Record<string, unknown>) : undefined;
    sent.push({ method, url, body, auth: ((init?.headers ?? {}) as Record<string, string>).Authorization ?? null });
    if (url.startsWith('/api/screener/fields')) return jsonResponse(fieldsFixture);
    if (url === '/api/screens/presets') return jsonResponse(presetsFixture);
    if (url.startsWith('/api/screens/run')) return jsonResponse({ ...screenFixture, query: 'market_cap > 10000000000' });
    if (url === '/api/screens/saved?limit=100' && method === 'GET') return jsonResponse({ data: state.screens, count: state.screens.length, limit });
    if (url === '/api/screens/saved' && method === 'POST') {
      if (state.screens.length >= limit) return quota();
      const created = saved(state.nextId++, { ...(body as Partial<SavedScreen>), query: 'market_cap > 10000000000' });
      state.screens.push(created);
      return jsonResponse(created, 201);
    }
    const m = /^\/api\/screens\/saved\/([^/]+)(\/duplicate|\/share)?$/.exec(url);
    const found = m ? state.screens.find((s) => s.id === m[1]) : undefined;
    if (m && found) {
      if (m[2] === '/duplicate') {
        if (state.screens.length >= limit) return quota();
        const copy = saved(state.nextId++, { name: `${found.name} (copy)` });
        state.screens.push(copy);
        return jsonResponse(copy, 201);
      }
      if (m[2] === '/share' && method === 'POST') {
        found.share_token ??= 'tok_abcdefghijklmnopqrstuvwxyz0123456789';
        return jsonResponse(found);
      }
      if (m[2] === '/share' && method === 'DELETE') {
        found.share_token = null;
        return new Response(null, { status: 204 });
      }
      if (method === 'PATCH') {
        Object.assign(found, body);
        return jsonResponse(found);
      }
      if (method === 'DELETE') {
        state.screens = state.screens.filter((s) => s !== found);
        return new Response(null, { status: 204 });
      }
    }
    return errorResponse(404, 'not_found', `no route ${method} ${url}`);
  });
  vi.stubGlobal('fetch', fetchMock);
  return { state, sent, writes: () => sent.filter((s) => s.method !== 'GET' && !s.url.startsWith('/api/screens/run')) };
}

function signIn() {
  setSession(tokenFixture());
}

async function panel() {
  return within(await screen.findByTestId('saved-screens'));
}

async function itemAction(name: string, action: string) {
  const item = (await screen.findAllByTestId('saved-screen')).find((li) => within(li).queryByText(name));
  if (!item) throw new Error(`no saved screen ${name}`);
  await userEvent.click(within(item).getByRole('button', { name: `Actions for “${name}”` }));
  await userEvent.click(await screen.findByRole('menuitem', { name: action }));
}

describe('saved screens', () => {
  beforeEach(() => useScreenerStore.getState().reset());

  it('asks anonymous visitors to sign in, without calling the API for screens', async () => {
    const api = fakeApi();
    renderWithProviders(<ScreenerRoute />);
    const prompt = await screen.findByTestId('sign-in-prompt');
    expect(prompt).toHaveTextContent('Sign in to save screens');
    expect(within(prompt).getByRole('link', { name: 'Sign in' })).toHaveAttribute('href', '/login?next=%2F');
    await screen.findAllByTestId('result-row');
    expect(api.sent.some((s) => s.url.startsWith('/api/screens/saved'))).toBe(false);
  });

  it("lists the user's screens with their query and count, sent with the access token", async () => {
    const api = fakeApi({ screens: [saved(1, { name: 'Large caps' }), saved(2, { name: 'Cheap', query: 'pe < 10', share_token: 'tok_x'.padEnd(30, 'x') })] });
    signIn();
    renderWithProviders(<ScreenerRoute />);
    const p = await panel();
    const items = await p.findAllByTestId('saved-screen');
    const opens = items.map((li) => within(li).getByTestId('open-saved-screen'));
    expect(opens.map((b) => b.getAttribute('aria-label'))).toEqual(['Open “Large caps”', 'Open “Cheap”']);
    expect(opens[0]).toHaveAccessibleDescription('market_cap > 10000000000');
    expect(opens[1]).toHaveAccessibleDescription('pe < 10 (shared by link)');
    expectCount(p, 2, 3);
    expect(api.sent.find((s) => s.url.startsWith('/api/screens/saved'))?.auth).toBe('Bearer access-1');
  });

  it('saves the current screen under a name and marks it open', async () => {
    const api = fakeApi();
    signIn();
    renderWithProviders(<ScreenerRoute />);
    const p = await panel();
    expect(await p.findByTestId('no-saved-screens')).toBeInTheDocument();
    const preset = screen.getByTestId('preset-select');
    await waitFor(() => expect(preset).toBeEnabled());
    await userEvent.selectOptions(preset, 'oversold');
    await userEvent.click(p.getByTestId('save-screen'));
    const dialog = await screen.findByRole('dialog', { name: 'Save screen' });
    const name = within(dialog).getByLabelText('Name');
    await waitFor(() => expect(name).toHaveFocus());
    await userEvent.type(name, 'Big companies{Enter}');
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(api.writes()).toEqual([
      {
        method: 'POST',
        url: '/api/screens/saved',
        auth: 'Bearer access-1',
        body: { name: 'Big companies', description: null, query: null, ast: OVERSOLD_AST, sort: 'rsi14', order: 'asc', columns: null },
      },
    ]);
    const item = await p.findByRole('button', { name: 'Open “Big companies”' });
    expect(item).toHaveAttribute('aria-current', 'true');
    expectCount(p, 1, 3);
    expect(p.getByTestId('save-screen')).toHaveFocus(); // focus back where the dialog was opened
  });

  it("shows the quota refusal in the dialog and the plan's limit in the list", async () => {
    fakeApi({ screens: [saved(1), saved(2), saved(3)] });
    signIn();
    renderWithProviders(<ScreenerRoute />);
    const p = await panel();
    await p.findAllByTestId('saved-screen');
    // the list carries the plan's quota: the note shows before any refusal
    expectCount(p, 3, 3);
    expect(p.getByTestId('quota-note')).toHaveTextContent('You have used all 3 saved screens of the free plan.');
    await userEvent.click(p.getByTestId('save-screen'));
    const dialog = await screen.findByRole('dialog', { name: 'Save screen' });
    await userEvent.type(within(dialog).getByLabelText('Name'), 'One too many');
    await userEvent.click(within(dialog).getByTestId('screen-name-submit'));
    const alert = await within(dialog).findByRole('alert');
    expect(alert).toHaveTextContent("You have reached your plan's saved-screen limit");
    expect(alert).toHaveTextContent('quota reached: saved screens is limited to 3 on the free plan');
    expect(screen.getByRole('dialog', { name: 'Save screen' })).toBeInTheDocument();
    expectCount(p, 3, 3);
    expect(p.getByTestId('quota-note')).toHaveTextContent('You have used all 3 saved screens of the free plan.');
  });

  it('renames, duplicates and deletes', async () => {
    const api = fakeApi({ screens: [saved(1, { name: 'Large caps' })] });
    signIn();
    renderWithProviders(<ScreenerRoute />);
    await (await panel()).findAllByTestId('saved-screen');

    await itemAction('Large caps', 'Rename…');
    const rename = await screen.findByRole('dialog', { name: 'Rename screen' });
    const input = within(rename).getByLabelText('Name');
    expect(input).toHaveValue('Large caps');
    await userEvent.clear(input);
    await userEvent.type(input, 'Mega caps{Enter}');
    expect(await screen.findByRole('button', { name: 'Open “Mega caps”' })).toBeInTheDocument();

    await itemAction('Mega caps', 'Duplicate');
    expect(await screen.findByRole('button', { name: 'Open “Mega caps (copy)”' })).toBeInTheDocument();

    await itemAction('Mega caps', 'Delete…');
    const confirm = await screen.findByRole('dialog', { name: 'Delete this screen?' });
    expect(confirm).toHaveTextContent('“Mega caps” will be deleted');
    await userEvent.click(within(confirm).getByTestId('confirm-delete'));
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Open “Mega caps”' })).not.toBeInTheDocument());
    expect(screen.getAllByTestId('saved-screen')).toHaveLength(1);

    const id = '00000000-0000-4000-8000-000000000001';
    expect(api.writes().map((w) => [w.method, w.url, w.body])).toEqual([
      ['PATCH', `/api/screens/saved/${id}`, { name: 'Mega caps' }],
      ['POST', `/api/screens/saved/${id}/duplicate`, {}],
      ['DELETE', `/api/screens/saved/${id}`, undefined],
    ]);
  });

  it('makes a share link, copies it, and revokes it', async () => {
    const api = fakeApi({ screens: [saved(1, { name: 'Large caps' })] });
    signIn();
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    renderWithProviders(<ScreenerRoute />);
    await (await panel()).findAllByTestId('saved-screen');

    await itemAction('Large caps', 'Share…');
    const dialog = await screen.findByRole('dialog', { name: 'Share “Large caps”' });
    await userEvent.click(within(dialog).getByTestId('create-share'));
    const link = await within(dialog).findByLabelText('Share link');
    const url = `${window.location.origin}/screens/shared/tok_abcdefghijklmnopqrstuvwxyz0123456789`;
    expect(link).toHaveValue(url);
    await userEvent.click(within(dialog).getByTestId('copy-share-link'));
    expect(writeText).toHaveBeenCalledWith(url);
    expect(await within(dialog).findByText('Link copied to the clipboard.')).toBeInTheDocument();

    await userEvent.click(within(dialog).getByTestId('revoke-share'));
    expect(await within(dialog).findByTestId('create-share')).toBeInTheDocument();
    expect(api.writes().map((w) => [w.method, w.url])).toEqual([
      ['POST', '/api/screens/saved/00000000-0000-4000-8000-000000000001/share'],
      ['DELETE', '/api/screens/saved/00000000-0000-4000-8000-000000000001/share'],
    ]);
  });

  it('opens a screen into the filter builder, or as query text when the builder cannot show it', async () => {
    const cross = saved(2, {
      name: 'Golden cross',
      query: 'sma50 crosses_above sma200',
      ast: { kind: 'cross', left: { kind: 'field', name: 'sma50' }, direction: 'above', right: { kind: 'field', name: 'sma200' } },
      sort: 'pe',
      order: 'asc',
    });
    const api = fakeApi({ screens: [saved(1, { name: 'Large caps' }), cross] });
    signIn();
    renderWithProviders(<ScreenerRoute />);
    const p = await panel();
    await p.findAllByTestId('saved-screen');
    await screen.findAllByTestId('result-row');
    const runs = () => api.sent.filter((s) => s.url.startsWith('/api/screens/run')).map((s) => s.body);

    await userEvent.click(p.getByRole('button', { name: 'Open “Large caps”' }));
    const row = await screen.findByTestId('filter-row');
    expect(within(row).getByLabelText('Field')).toHaveValue('market_cap');
    expect(within(row).getByLabelText('Value')).toHaveValue('10B');
    await waitFor(() =>
      expect(runs().at(-1)).toEqual({ filters: [{ field: 'market_cap', op: '>', value: 10_000_000_000 }], sort: 'market_cap', order: 'desc', limit: 50, offset: 0 }),
    );

    await userEvent.click(p.getByRole('button', { name: 'Open “Golden cross”' }));
    expect(await screen.findByTestId('applied-query')).toHaveTextContent('sma50 crosses_above sma200');
    expect(screen.queryByTestId('filter-row')).not.toBeInTheDocument();
    await waitFor(() => expect(runs().at(-1)).toEqual({ query: 'sma50 crosses_above sma200', sort: 'pe', order: 'asc', limit: 50, offset: 0 }));
    expect(p.getByRole('button', { name: 'Open “Golden cross”' })).toHaveAttribute('aria-current', 'true');
  });
});

describe('shared screen page', () => {
  it('shows a shared screen read-only with its results', async () => {
    const token = 'tok_abcdefghijklmnopqrstuvwxyz0123456789';
    const fetchMock = vi.fn(async (input: RequestInfo | URL, _init?: RequestInit) => {
      const url = String(input);
      if (url === `/api/screens/shared/${token}`) {
        const { id: _id, share_token: _t, shared_at: _s, ...shared } = saved(1, { name: 'Large caps', description: 'Over $10B' });
        return jsonResponse(shared);
      }
      if (url === `/api/screens/shared/${token}/run`) return jsonResponse({ ...screenFixture, columns: [], query: 'market_cap > 10000000000' });
      if (url.startsWith('/api/screener/fields')) return jsonResponse(fieldsFixture);
      return errorResponse(404, 'not_found', 'no shared screen with that link');
    });
    vi.stubGlobal('fetch', fetchMock);
    renderWithProviders(<SharedScreenRoute />, { path: '/screens/shared/:token', route: `/screens/shared/${token}` });
    const header = await screen.findByTestId('shared-screen');
    expect(header).toHaveTextContent('Shared screen · read-only');
    expect(header).toHaveTextContent('Large caps');
    expect(header).toHaveTextContent('market_cap > 10000000000');
    expect(await screen.findAllByTestId('result-row')).toHaveLength(2);
    expect(screen.queryByTestId('sort-pe')).not.toBeInTheDocument(); // the owner's order is fixed
    const [, init] = fetchMock.mock.calls.find(([u]) => String(u).endsWith('/run'))!;
    expect(JSON.parse(String(init?.body))).toEqual({ limit: 50, offset: 0 });
  });

  it('says so when the link was revoked', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => errorResponse(404, 'not_found', 'no shared screen with that link')));
    renderWithProviders(<SharedScreenRoute />, { path: '/screens/shared/:token', route: '/screens/shared/revoked-token-revoked-token' });
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('This shared screen is not available');
    expect(alert).toHaveTextContent('no shared screen with that link');
  });
});
