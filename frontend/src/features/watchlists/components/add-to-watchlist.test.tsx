import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { ScreenerRoute } from '@/app/routes/screener';
import { ToastOutlet } from '@/components/ui/toast-store';
import { useScreenerStore } from '@/features/screener/stores/screener-store';
import { setSession } from '@/lib/session';
import { fakeApi, screenerCatalogue } from '@/test/fake-api';
import { stubWebSocket } from '@/test/fake-socket';
import { screenFixture } from '@/test/fixtures';
import { errorResponse, jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';

const WL = '00000000-0000-4000-8000-0000000000a1';

function screenerApi() {
  const items: string[] = [];
  return fakeApi(screenerCatalogue, (req) => {
    if (req.path === '/api/screens/run') return jsonResponse(screenFixture);
    if (req.path === '/api/screens/saved') return jsonResponse({ data: [], count: 0 });
    if (req.path === '/api/watchlists' && req.method === 'GET')
      return jsonResponse({ data: [{ id: WL, name: 'Tech', position: 0, item_count: items.length, created_at: '', updated_at: '' }], count: 1 });
    if (req.path === `/api/watchlists/${WL}/items` && req.method === 'POST') {
      const symbol = (req.body as { symbol: string }).symbol;
      if (items.includes(symbol)) return errorResponse(409, 'conflict', `${symbol} is already on this watchlist`);
      items.push(symbol);
      return jsonResponse({ id: WL, name: 'Tech', position: 0, item_count: items.length, created_at: '', updated_at: '', items: [] }, 201);
    }
    return undefined;
  });
}

async function addFirstRowTo(name: string) {
  const row = (await screen.findAllByTestId('result-row'))[0]!;
  await userEvent.click(within(row).getByRole('button', { name: 'Add AAPL to a watchlist' }));
  await userEvent.click(await screen.findByRole('menuitem', { name: new RegExp(name) }));
}

describe('add to watchlist on screener rows', () => {
  beforeEach(() => {
    useScreenerStore.getState().reset();
    stubWebSocket();
  });

  it('adds the row symbol to the chosen watchlist and says so; a second add says it is already there', async () => {
    const api = screenerApi();
    setSession(tokenFixture());
    renderWithProviders(
      <>
        <ScreenerRoute />
        <ToastOutlet />
      </>,
    );
    await addFirstRowTo('Tech');
    await waitFor(() => expect(api.writes().at(-1)).toMatchObject({ method: 'POST', path: `/api/watchlists/${WL}/items`, body: { symbol: 'AAPL' } }));
    expect(await screen.findByText('AAPL added to Tech')).toBeInTheDocument();

    await addFirstRowTo('Tech');
    expect(await screen.findByText('AAPL is already on Tech')).toBeInTheDocument();
  });

  it('offers anonymous visitors to sign in instead', async () => {
    const api = screenerApi();
    const { router } = renderWithProviders(<ScreenerRoute />, { routes: [{ path: '/login', element: <p>login page</p> }] });
    const row = (await screen.findAllByTestId('result-row'))[0]!;
    await userEvent.click(within(row).getByRole('button', { name: 'Add AAPL to a watchlist' }));
    await userEvent.click(await screen.findByRole('menuitem', { name: 'Sign in to use watchlists' }));
    await waitFor(() => expect(router.state.location.pathname).toBe('/login'));
    expect(api.sent.some((s) => s.path.startsWith('/api/watchlists'))).toBe(false);
  });
});
