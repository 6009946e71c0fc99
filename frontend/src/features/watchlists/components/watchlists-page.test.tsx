import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { WatchlistsRoute } from '@/app/routes/watchlists';
import { setSession } from '@/lib/session';
import { fakeApi, noContent, type SentRequest } from '@/test/fake-api';
import { FakeWebSocket, stubWebSocket } from '@/test/fake-socket';
import { errorResponse, jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';
import type { Watchlist, WatchlistItem } from '../api/keys';

const WL1 = '00000000-0000-4000-8000-0000000000a1';
const WL2 = '00000000-0000-4000-8000-0000000000a2';
const NAMES: Record<string, string> = { AAPL: 'Apple Inc.', MSFT: 'Microsoft Corp.', XOM: 'Exxon Mobil Corp.', NVDA: 'Nvidia Corporation' };

function item(symbol: string, position: number, price = 100 + position): WatchlistItem {
  return {
    symbol,
    name: NAMES[symbol] ?? null,
    position,
    note: null,
    added_at: '2024-01-01T00:00:00+00:00',
    price,
    change_pct: 1.5,
    volume: 1_200_000,
    quote_ts: '2018-02-07T00:00:00+00:00',
    quote_source: 'snapshot',
  };
}

/** An in-memory watchlists API with the free plan's quota of watchlists. */
function watchlistsApi({ limit = 5, techItems = [item('AAPL', 0, 159.54), item('MSFT', 1, 91.33)] } = {}) {
  const lists: Watchlist[] = [
    { id: WL1, name: 'Tech', position: 0, item_count: 0, created_at: '', updated_at: '', items: techItems },
    { id: WL2, name: 'Energy', position: 1, item_count: 0, created_at: '', updated_at: '', items: [item('XOM', 0)] },
  ];
  const view = (w: Watchlist) => ({ ...w, item_count: w.items.length });
  const summary = (w: Watchlist) => {
    const { items: _items, ...rest } = view(w);
    return rest;
  };
  const find = (req: SentRequest) => lists.find((w) => req.path.startsWith(`/api/watchlists/${w.id}`));
  const api = fakeApi(
    (req) => {
      if (req.path === '/api/watchlists' && req.method === 'GET') return jsonResponse({ data: lists.map(summary), count: lists.length });
      if (req.path === '/api/watchlists' && req.method === 'POST') {
        if (lists.length >= limit)
          return errorResponse(403, 'forbidden', `quota reached: watchlists is limited to ${limit} on the free plan`, { quota: 'watchlists', limit, used: lists.length, role: 'free' });
        const w: Watchlist = { id: `00000000-0000-4000-8000-0000000000b${lists.length}`, name: (req.body as { name: string }).name, position: lists.length, item_count: 0, created_at: '', updated_at: '', items: [] };
        lists.push(w);
        return jsonResponse(view(w), 201);
      }
      if (req.path === '/api/securities') {
        const q = (req.query.get('q') ?? '').toUpperCase();
        const data = Object.entries(NAMES)
          .filter(([s]) => s.startsWith(q))
          .map(([symbol, name]) => ({ symbol, name, sector: 'Information Technology', industry: null }));
        return jsonResponse({ data, count: data.length });
      }
      return undefined;
    },
    (req) => {
      const w = find(req);
      if (!w) return undefined;
      const rest = req.path.slice(`/api/watchlists/${w.id}`.length);
      if (rest === '' && req.method === 'GET') return jsonResponse(view(w));
      if (rest === '' && req.method === 'PATCH') {
        w.name = (req.body as { name: string }).name;
        return jsonResponse(view(w));
      }
      if (rest === '' && req.method === 'DELETE') {
        lists.splice(lists.indexOf(w), 1);
        return noContent();
      }
      if (rest === '/items' && req.method === 'POST') {
        const symbol = (req.body as { symbol: string }).symbol.toUpperCase();
        if (!NAMES[symbol]) return errorResponse(400, 'invalid_request', `unknown symbol '${symbol}'`, { symbol });
        if (w.items.some((i) => i.symbol === symbol)) return errorResponse(409, 'conflict', `${symbol} is already on this watchlist`);
        w.items.push(item(symbol, w.items.length, 120));
        return jsonResponse(view(w), 201);
      }
      if (rest === '/items/order' && req.method === 'PUT') {
        const symbols = (req.body as { symbols: string[] }).symbols;
        w.items = symbols.map((s, i) => ({ ...w.items.find((x) => x.symbol === s)!, position: i }));
        return jsonResponse(view(w));
      }
      const m = /^\/items\/([^/]+)$/.exec(rest);
      if (m && req.method === 'DELETE') {
        w.items = w.items.filter((i) => i.symbol !== m[1]);
        return noContent();
      }
      return undefined;
    },
  );
  return { ...api, lists };
}

function renderPage(route = '/watchlists') {
  return renderWithProviders(<WatchlistsRoute />, { path: '/watchlists/:id?', route });
}

const rows = () => screen.getAllByTestId('watchlist-item').map((r) => r.getAttribute('data-symbol'));

describe('watchlists page', () => {
  beforeEach(() => stubWebSocket());

  it('asks anonymous visitors to sign in without calling the API', async () => {
    const api = watchlistsApi();
    renderPage();
    expect(await screen.findByTestId('sign-in-prompt')).toHaveTextContent('Sign in to see your watchlists');
    expect(api.sent).toHaveLength(0);
  });

  it('opens the first watchlist and shows its symbols with quote fields', async () => {
    watchlistsApi();
    setSession(tokenFixture());
    const { router } = renderPage();
    expect(await screen.findByRole('heading', { name: 'Tech' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe(`/watchlists/${WL1}`);
    expect(rows()).toEqual(['AAPL', 'MSFT']);
    const aapl = screen.getAllByTestId('watchlist-item')[0]!;
    expect(within(aapl).getByTestId('item-price')).toHaveTextContent('159.54');
    expect(within(aapl).getByTestId('item-change-pct')).toHaveTextContent('+1.50%');
    // change from the previous close implied by +1.5%: 159.54 - 159.54 / 1.015
    expect(aapl).toHaveTextContent('+2.36');
    expect(aapl).toHaveTextContent('1.20M');
    const nav = screen.getByTestId('watchlist-sidebar');
    expect(within(nav).getAllByRole('link').map((a) => a.textContent)).toEqual(['Tech2 symbols', 'Energy1 symbols']);
  });

  it('updates prices from the WebSocket feed and flashes the change', async () => {
    watchlistsApi();
    setSession(tokenFixture());
    renderPage(`/watchlists/${WL1}`);
    await screen.findByRole('heading', { name: 'Tech' });
    const socket = FakeWebSocket.latest()!;
    act(() => socket.open());
    expect(socket.sent).toContainEqual({ action: 'subscribe', symbols: ['AAPL', 'MSFT'] });
    expect(screen.getByTestId('live-status')).toHaveTextContent('Live');
    act(() => socket.receive({ type: 'quote', symbol: 'AAPL', price: 161.02, change_pct: 2.5, volume: 2_500_000, ts: '2018-02-07T15:00:00Z' }));
    const price = within(screen.getAllByTestId('watchlist-item')[0]!).getByTestId('item-price');
    expect(price).toHaveTextContent('161.02');
    expect(price.querySelector('[data-flash]')).toHaveAttribute('data-flash', 'up');
    act(() => socket.receive({ type: 'quote', symbol: 'AAPL', price: 160.5, change_pct: 2.1, volume: 2_600_000, ts: '2018-02-07T15:00:02Z' }));
    expect(price.querySelector('[data-flash]')).toHaveAttribute('data-flash', 'down');
    expect(screen.getAllByTestId('watchlist-item')[0]).toHaveTextContent('+2.10%');
  });

  it('adds a symbol with the search-as-you-type box and shows the API refusing a duplicate', async () => {
    const api = watchlistsApi();
    setSession(tokenFixture());
    renderPage(`/watchlists/${WL1}`);
    await screen.findByRole('heading', { name: 'Tech' });
    const box = screen.getByRole('combobox', { name: 'Add symbol' });
    await userEvent.type(box, 'nv');
    await userEvent.click(await screen.findByRole('option', { name: /NVDA/ }));
    await waitFor(() => expect(rows()).toEqual(['AAPL', 'MSFT', 'NVDA']));
    expect(api.writes().at(-1)).toMatchObject({ method: 'POST', path: `/api/watchlists/${WL1}/items`, body: { symbol: 'NVDA' } });
    expect(box).toHaveValue('');

    await userEvent.type(box, 'AAPL{Enter}');
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('AAPL could not be added');
    expect(alert).toHaveTextContent('AAPL is already on this watchlist');
    expect(alert).toHaveTextContent('request id req-409');
  });

  it('reorders with the keyboard: move buttons, focus follows the symbol, the new order is saved', async () => {
    const api = watchlistsApi();
    setSession(tokenFixture());
    renderPage(`/watchlists/${WL1}`);
    await screen.findByRole('heading', { name: 'Tech' });
    const up = screen.getByRole('button', { name: 'Move AAPL up' });
    expect(up).toBeDisabled();
    screen.getByRole('button', { name: 'Move AAPL down' }).focus();
    await userEvent.keyboard('{Enter}');
    await waitFor(() => expect(rows()).toEqual(['MSFT', 'AAPL']));
    expect(api.writes().at(-1)).toMatchObject({ method: 'PUT', path: `/api/watchlists/${WL1}/items/order`, body: { symbols: ['MSFT', 'AAPL'] } });
    // AAPL is now last: its "down" button is disabled, so focus moved to its "up" button.
    await waitFor(() => expect(screen.getByRole('button', { name: 'Move AAPL up' })).toHaveFocus());
    expect(screen.getByText('AAPL moved to position 2 of 2.')).toBeInTheDocument();
  });

  it('puts the old order back and says why when the API refuses a reorder', async () => {
    watchlistsApi();
    const base = globalThis.fetch;
    setSession(tokenFixture());
    renderPage(`/watchlists/${WL1}`);
    await screen.findByRole('heading', { name: 'Tech' });
    globalThis.fetch = async (input, init) =>
      init?.method === 'PUT' ? errorResponse(400, 'invalid_request', 'symbols must list each item of the watchlist exactly once', { expected: 2 }) : base(input, init);
    await userEvent.click(screen.getByRole('button', { name: 'Move MSFT up' }));
    expect(await screen.findByText('The order could not be saved')).toBeInTheDocument();
    expect(screen.getByRole('alert')).toHaveTextContent('symbols must list each item of the watchlist exactly once');
    expect(rows()).toEqual(['AAPL', 'MSFT']);
  });

  it('removes a symbol and reorders, renames and deletes watchlists', async () => {
    const api = watchlistsApi();
    setSession(tokenFixture());
    const { router } = renderPage(`/watchlists/${WL1}`);
    await screen.findByRole('heading', { name: 'Tech' });
    await userEvent.click(screen.getByRole('button', { name: 'Remove MSFT' }));
    await waitFor(() => expect(rows()).toEqual(['AAPL']));

    await userEvent.click(screen.getByRole('button', { name: 'Move Energy up' }));
    expect(api.writes().at(-1)).toMatchObject({ method: 'PUT', path: '/api/watchlists/order', body: { ids: [WL2, WL1] } });

    await userEvent.click(screen.getByTestId('rename-watchlist'));
    const dialog = await screen.findByRole('dialog', { name: 'Rename watchlist' });
    const name = within(dialog).getByLabelText('Name');
    await userEvent.clear(name);
    await userEvent.type(name, 'Mega tech{Enter}');
    expect(await screen.findByRole('heading', { name: 'Mega tech' })).toBeInTheDocument();

    await userEvent.click(screen.getByTestId('delete-watchlist'));
    const confirm = await screen.findByRole('dialog', { name: 'Delete this watchlist?' });
    await userEvent.click(within(confirm).getByTestId('confirm-delete'));
    // the remaining list opens
    expect(await screen.findByRole('heading', { name: 'Energy' })).toBeInTheDocument();
    await waitFor(() => expect(router.state.location.pathname).toBe(`/watchlists/${WL2}`));
  });

  it("creates a watchlist, and shows the plan's limit when the API refuses one more", async () => {
    watchlistsApi({ limit: 3 });
    setSession(tokenFixture());
    const { router } = renderPage();
    await screen.findByRole('heading', { name: 'Tech' });
    await userEvent.click(screen.getByTestId('new-watchlist'));
    let dialog = await screen.findByRole('dialog', { name: 'New watchlist' });
    await userEvent.click(within(dialog).getByTestId('watchlist-name-submit'));
    expect(within(dialog).getByText('Give the watchlist a name.')).toBeInTheDocument();
    await userEvent.type(within(dialog).getByLabelText('Name'), 'Dividends{Enter}');
    expect(await screen.findByRole('heading', { name: 'Dividends' })).toBeInTheDocument();
    expect(router.state.location.pathname).toMatch(/\/watchlists\/0+-0+-4000-8000-0000000000b2$/);
    expect(screen.getByTestId('empty-watchlist')).toBeInTheDocument();

    await userEvent.click(screen.getByTestId('new-watchlist'));
    dialog = await screen.findByRole('dialog', { name: 'New watchlist' });
    await userEvent.type(within(dialog).getByLabelText('Name'), 'One too many{Enter}');
    const alert = await within(dialog).findByRole('alert');
    expect(alert).toHaveTextContent("You have reached your plan's watchlist limit");
    expect(alert).toHaveTextContent('quota reached: watchlists is limited to 3 on the free plan');
  });

  it('follows at most 50 symbols live, as the server allows one connection, and says so', async () => {
    const many = Array.from({ length: 55 }, (_, i) => item(`S${String(i).padStart(2, '0')}`, i));
    watchlistsApi({ techItems: many });
    setSession(tokenFixture());
    renderPage(`/watchlists/${WL1}`);
    await screen.findByRole('heading', { name: 'Tech' });
    const socket = FakeWebSocket.latest()!;
    act(() => socket.open());
    const subscribed = (socket.sent as { action: string; symbols: string[] }[]).flatMap((m) => (m.action === 'subscribe' ? m.symbols : []));
    expect(subscribed).toHaveLength(50);
    expect(subscribed).toContain('S00');
    expect(subscribed).not.toContain('S50');
    expect(screen.getByTestId('live-capped')).toHaveTextContent('Prices stream live for the first 50 symbols');
    expect(screen.getAllByTestId('watchlist-item')).toHaveLength(55);
  });
});
