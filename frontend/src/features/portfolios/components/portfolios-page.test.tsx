import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { PortfoliosRoute } from '@/app/routes/portfolios';
import { ToastOutlet } from '@/components/ui/toast-store';
import { setSession } from '@/lib/session';
import { fakeApi, noContent } from '@/test/fake-api';
import { FakeWebSocket, stubWebSocket } from '@/test/fake-socket';
import { errorResponse, jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';
import type { Holding, Transaction } from '../api/keys';

// jsdom has no canvas: a fake lightweight-charts that records the series data.
const chart = vi.hoisted(() => ({ series: [] as { title: string; setData: ReturnType<typeof vi.fn> }[] }));
vi.mock('lightweight-charts', () => ({
  ColorType: { Solid: 'solid' },
  LineSeries: { type: 'Line' },
  createChart: (el: HTMLElement) => {
    el.appendChild(document.createElement('canvas'));
    return {
      addSeries: (_type: unknown, opts: { title: string }) => {
        const s = { title: opts.title, setData: vi.fn() };
        chart.series.push(s);
        return s;
      },
      timeScale: () => ({ fitContent: vi.fn() }),
      remove: vi.fn(),
    };
  },
}));

const PF = '00000000-0000-4000-8000-0000000000c1';

function holding(symbol: string, quantity: number, cost: number, price: number): Holding {
  return {
    symbol,
    quantity,
    cost_basis: cost,
    average_cost: quantity ? cost / quantity : null,
    price,
    price_as_of: '2018-02-07',
    market_value: quantity * price,
    unrealised_pnl: quantity * price - cost,
    unrealised_pct: cost ? ((quantity * price - cost) / cost) * 100 : null,
    realised_pnl: 0,
    dividends: 0,
    fees: 1,
  };
}

/** A portfolios API that records transactions; holdings are what the test says they are. */
function portfoliosApi({ portfolios = 1, limit = 1 } = {}) {
  const state = {
    portfolios: Array.from({ length: portfolios }, (_, i) => ({ id: i === 0 ? PF : `00000000-0000-4000-8000-0000000000c${i + 1}`, name: i === 0 ? 'Main' : `P${i}`, created_at: '' })),
    txns: [{ id: 't1', kind: 'buy', symbol: 'AAPL', date: '2018-01-02', quantity: 10, price: 150, fees: 1 }] as Transaction[],
    holdings: [holding('AAPL', 10, 1501, 159.54)],
    refuse: null as Response | null,
  };
  const api = fakeApi((req) => {
    const summary = (p: (typeof state.portfolios)[number]) => ({ ...p, transaction_count: p.id === PF ? state.txns.length : 0 });
    if (req.path === '/api/portfolios' && req.method === 'GET') return jsonResponse({ data: state.portfolios.map(summary), count: state.portfolios.length });
    if (req.path === '/api/portfolios' && req.method === 'POST') {
      if (state.portfolios.length >= limit)
        return errorResponse(403, 'forbidden', `quota reached: portfolios is limited to ${limit} on the free plan`, { quota: 'portfolios', limit, used: state.portfolios.length, role: 'free' });
      const p = { id: `00000000-0000-4000-8000-0000000000d${state.portfolios.length}`, name: (req.body as { name: string }).name, created_at: '' };
      state.portfolios.push(p);
      return jsonResponse(summary(p), 201);
    }
    if (req.path.startsWith('/api/portfolios/0') && !req.path.startsWith(`/api/portfolios/${PF}`)) {
      const p = state.portfolios.find((x) => req.path.startsWith(`/api/portfolios/${x.id}`));
      if (p && req.path.endsWith('/transactions')) return jsonResponse({ data: [], count: 0 });
      if (p) return jsonResponse({ ...summary(p), transaction_count: 0, holdings: [], totals: { cost_basis: 0, market_value: 0, unrealised_pnl: 0, realised_pnl: 0, dividends: 0 } });
    }
    const base = `/api/portfolios/${PF}`;
    if (req.path === base) {
      const value = state.holdings.reduce((a, h) => a + (h.market_value ?? 0), 0);
      const cost = state.holdings.reduce((a, h) => a + h.cost_basis, 0);
      return jsonResponse({
        ...summary(state.portfolios[0]!),
        holdings: state.holdings,
        totals: { cost_basis: cost, market_value: value, unrealised_pnl: value - cost, realised_pnl: 0, dividends: 0 },
      });
    }
    if (req.path === `${base}/transactions` && req.method === 'GET') return jsonResponse({ data: state.txns, count: state.txns.length });
    if (req.path === `${base}/transactions` && req.method === 'POST') {
      if (state.refuse) return state.refuse;
      const b = req.body as Record<string, string>;
      const t: Transaction = { id: `t${state.txns.length + 1}`, kind: b.kind!, symbol: b.symbol!, date: b.date!, quantity: Number(b.quantity), price: Number(b.price), fees: Number(b.fees) };
      state.txns.push(t);
      state.holdings.push(holding(t.symbol, t.quantity, t.quantity * t.price + t.fees, 91.33));
      return jsonResponse(t, 201);
    }
    if (req.path.startsWith(`${base}/transactions/`) && req.method === 'DELETE') {
      if (state.refuse) return state.refuse;
      state.txns = state.txns.filter((t) => !req.path.endsWith(t.id));
      return noContent();
    }
    if (req.path === `${base}/performance`)
      return jsonResponse({
        data: [
          { date: '2018-01-02', value: 1500, net_flow: 1501, portfolio_index: 100, universe_index: 100 },
          { date: '2018-01-03', value: 1530, net_flow: 0, portfolio_index: 102, universe_index: 100.5 },
        ],
        count: 2,
        portfolio_return_pct: 2,
        universe_return_pct: 0.5,
      });
    if (req.path === '/api/securities') return jsonResponse({ data: [{ symbol: 'MSFT', name: 'Microsoft Corp.', sector: null, industry: null }], count: 1 });
    return undefined;
  });
  return { ...api, state };
}

function renderPage(route = '/portfolios') {
  return renderWithProviders(
    <>
      <PortfoliosRoute />
      <ToastOutlet />
    </>,
    { path: '/portfolios/:id?', route },
  );
}

async function openAddDialog() {
  await userEvent.click(await screen.findByTestId('add-transaction'));
  return screen.findByRole('dialog', { name: 'Add transaction' });
}

async function fillBuy(dialog: HTMLElement, { symbol = 'MSFT', date = '2018-01-02', quantity = '10', price = '90.5', fees = '1' } = {}) {
  const d = within(dialog);
  await userEvent.type(d.getByLabelText('Symbol'), `${symbol}{Escape}`);
  const dateInput = d.getByLabelText('Date');
  await userEvent.clear(dateInput);
  await userEvent.type(dateInput, date);
  await userEvent.type(d.getByLabelText('Quantity'), quantity);
  await userEvent.type(d.getByLabelText('Price per share'), price);
  if (fees) await userEvent.type(d.getByLabelText('Fees'), fees);
}

describe('portfolios page', () => {
  beforeEach(() => {
    stubWebSocket();
    chart.series = [];
  });

  it('asks anonymous visitors to sign in without calling the API', async () => {
    const api = portfoliosApi();
    renderPage();
    expect(await screen.findByTestId('sign-in-prompt')).toHaveTextContent('Sign in to see your portfolios');
    expect(api.sent).toHaveLength(0);
  });

  it('shows totals, FIFO holdings with P&L, transactions and the performance against the universe', async () => {
    portfoliosApi();
    setSession(tokenFixture());
    const { router } = renderPage();
    expect(await screen.findByRole('heading', { name: 'Main' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe(`/portfolios/${PF}`);
    const row = within(await screen.findByTestId('holdings')).getAllByTestId('holding')[0]!;
    expect(row).toHaveTextContent('AAPL');
    expect(within(row).getByTestId('holding-quantity')).toHaveTextContent('10');
    expect(within(row).getByTestId('holding-value')).toHaveTextContent('1,595.40');
    expect(row).toHaveTextContent('+94.40');
    expect(row).toHaveTextContent('(+6.29%)');
    expect(screen.getByTestId('total-value')).toHaveTextContent('1,595.40');
    expect(screen.getByTestId('total-unrealised')).toHaveTextContent('+94.40');
    const txn = (await screen.findAllByTestId('transaction'))[0]!;
    expect(txn).toHaveTextContent('2018-01-02');
    expect(txn).toHaveTextContent('Buy');
    expect(txn).toHaveTextContent('-1,501.00');
    await waitFor(() => expect(screen.getByTestId('performance-chart').querySelector('canvas')).not.toBeNull());
    expect(screen.getByTestId('portfolio-return')).toHaveTextContent('+2.00%');
    expect(screen.getByTestId('performance')).toHaveTextContent('+0.50%');
    const portfolio = chart.series.find((s) => s.title === 'Portfolio')!;
    const universe = chart.series.find((s) => s.title === 'Universe')!;
    await waitFor(() => expect(portfolio.setData).toHaveBeenLastCalledWith([
      { time: '2018-01-02', value: 100 },
      { time: '2018-01-03', value: 102 },
    ]));
    expect(universe.setData).toHaveBeenLastCalledWith([
      { time: '2018-01-02', value: 100 },
      { time: '2018-01-03', value: 100.5 },
    ]);
  });

  it('values the holdings at the live price from the WebSocket', async () => {
    portfoliosApi();
    setSession(tokenFixture());
    renderPage(`/portfolios/${PF}`);
    await screen.findByTestId('holdings');
    const socket = FakeWebSocket.latest()!;
    act(() => socket.open());
    expect(socket.sent).toContainEqual({ action: 'subscribe', symbols: ['AAPL'] });
    act(() => socket.receive({ type: 'quote', symbol: 'AAPL', price: 160, change_pct: 0.3, volume: 1, ts: '2018-02-07T15:00:00Z' }));
    expect(within(screen.getByTestId('holding')).getByTestId('holding-value')).toHaveTextContent('1,600.00');
    expect(screen.getByTestId('total-unrealised')).toHaveTextContent('+99.00');
  });

  it('adds a buy and shows the new holding', async () => {
    const api = portfoliosApi();
    setSession(tokenFixture());
    renderPage(`/portfolios/${PF}`);
    const dialog = await openAddDialog();
    await fillBuy(dialog);
    await userEvent.click(within(dialog).getByTestId('transaction-submit'));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(api.writes().at(-1)).toMatchObject({
      method: 'POST',
      path: `/api/portfolios/${PF}/transactions`,
      body: { kind: 'buy', symbol: 'MSFT', date: '2018-01-02', quantity: '10', price: '90.5', fees: '1' },
    });
    expect(await screen.findByText('Buy of 10 MSFT added')).toBeInTheDocument();
    await waitFor(() => expect(screen.getAllByTestId('holding').map((h) => h.getAttribute('data-symbol'))).toEqual(['AAPL', 'MSFT']));
  });

  it('asks for the missing fields before calling the API, and a split needs only its ratio', async () => {
    const api = portfoliosApi();
    setSession(tokenFixture());
    renderPage(`/portfolios/${PF}`);
    const dialog = await openAddDialog();
    await userEvent.click(within(dialog).getByTestId('transaction-submit'));
    expect(within(dialog).getByLabelText('Quantity')).toHaveAccessibleDescription('Enter the number of shares.');
    expect(within(dialog).getByText('Enter a symbol.')).toBeInTheDocument();
    expect(api.writes()).toHaveLength(0);
    await userEvent.selectOptions(within(dialog).getByLabelText('Type'), 'split');
    expect(within(dialog).queryByLabelText('Price per share')).not.toBeInTheDocument();
    await userEvent.type(within(dialog).getByLabelText('Symbol'), 'AAPL{Escape}');
    await userEvent.type(within(dialog).getByLabelText('Ratio (new shares per old)'), '2');
    await userEvent.click(within(dialog).getByTestId('transaction-submit'));
    await waitFor(() => expect(api.writes().at(-1)?.body).toMatchObject({ kind: 'split', symbol: 'AAPL', quantity: '2', price: '0', fees: '0' }));
  });

  it.each([
    {
      name: 'a model rule without a field (a future date)',
      response: () => errorResponse(400, 'validation_error', 'invalid request: the date is in the future', [{ loc: '', msg: 'the date is in the future', type: 'value_error' }]),
      field: 'Date',
      message: 'The date is in the future.',
    },
    {
      name: 'a field rule',
      response: () =>
        errorResponse(400, 'validation_error', 'invalid request at quantity: Input should be greater than 0', [{ loc: 'quantity', msg: 'Input should be greater than 0', type: 'greater_than' }]),
      field: 'Quantity',
      message: 'Input should be greater than 0.',
    },
    {
      name: 'an oversell',
      response: () => errorResponse(400, 'invalid_request', 'sell of 20 AAPL on 2018-01-05 exceeds the 10 held', { symbol: 'AAPL', date: '2018-01-05', held: '10' }),
      field: 'Quantity',
      message: 'Sell of 20 AAPL on 2018-01-05 exceeds the 10 held.',
    },
    {
      name: 'an unknown symbol',
      response: () => errorResponse(400, 'invalid_request', "unknown symbol 'ZZZZ'", { symbol: 'ZZZZ' }),
      field: 'Symbol',
      message: "Unknown symbol 'ZZZZ'.",
    },
  ])('shows the API refusing $name on the field', async ({ response, field, message }) => {
    const api = portfoliosApi();
    api.state.refuse = response();
    setSession(tokenFixture());
    renderPage(`/portfolios/${PF}`);
    const dialog = await openAddDialog();
    await fillBuy(dialog);
    await userEvent.click(within(dialog).getByTestId('transaction-submit'));
    const input = within(dialog).getByLabelText(field);
    await waitFor(() => expect(input).toHaveAttribute('aria-invalid', 'true'));
    expect(input).toHaveAccessibleDescription(message);
    expect(within(dialog).getByTestId('transaction-error')).toHaveTextContent('The transaction was not added: see below.');
    expect(screen.getByRole('dialog', { name: 'Add transaction' })).toBeInTheDocument();
  });

  it('shows why a transaction cannot be deleted', async () => {
    const api = portfoliosApi();
    setSession(tokenFixture());
    renderPage(`/portfolios/${PF}`);
    await screen.findAllByTestId('transaction');
    api.state.refuse = errorResponse(400, 'invalid_request', 'sell of 10 AAPL on 2018-01-05 exceeds the 0 held', { symbol: 'AAPL', date: '2018-01-05', held: '0' });
    await userEvent.click(screen.getByRole('button', { name: 'Delete buy of AAPL on 2018-01-02' }));
    const dialog = await screen.findByRole('dialog', { name: 'Delete this transaction?' });
    await userEvent.click(within(dialog).getByTestId('confirm-delete'));
    const alert = await within(dialog).findByRole('alert');
    expect(alert).toHaveTextContent('The transaction could not be deleted');
    expect(alert).toHaveTextContent('sell of 10 AAPL on 2018-01-05 exceeds the 0 held');
  });

  it("shows the API's quota message when the plan allows no more portfolios", async () => {
    portfoliosApi({ limit: 1 });
    setSession(tokenFixture());
    renderPage();
    await screen.findByRole('heading', { name: 'Main' });
    await userEvent.click(screen.getByTestId('new-portfolio'));
    const dialog = await screen.findByRole('dialog', { name: 'New portfolio' });
    await userEvent.type(within(dialog).getByLabelText('Name'), 'Second{Enter}');
    const alert = await within(dialog).findByRole('alert');
    expect(alert).toHaveTextContent("You have reached your plan's portfolio limit");
    expect(alert).toHaveTextContent('quota reached: portfolios is limited to 1 on the free plan');
  });

  it('creates a portfolio and opens it, empty', async () => {
    portfoliosApi({ limit: 10 });
    setSession(tokenFixture({ role: 'premium' }));
    renderPage();
    await screen.findByRole('heading', { name: 'Main' });
    await userEvent.click(screen.getByTestId('new-portfolio'));
    const dialog = await screen.findByRole('dialog', { name: 'New portfolio' });
    await userEvent.type(within(dialog).getByLabelText('Name'), 'Retirement{Enter}');
    expect(await screen.findByRole('heading', { name: 'Retirement' })).toBeInTheDocument();
    expect(screen.getByText('No holdings yet. Add a buy to start tracking this portfolio.')).toBeInTheDocument();
  });
});
