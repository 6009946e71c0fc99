import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ScreenerRoute } from '@/app/routes/screener';
import { Toaster } from '@/components/ui/toaster';
import { toast } from '@/components/ui/toast-store';
import { useScreenerStore } from '../stores/screener-store';
import { fieldsFixture, presetsFixture, screenFixture } from '@/test/fixtures';
import { jsonResponse, renderWithProviders } from '@/test/utils';

type Handler = (url: string, init?: RequestInit) => Response | Promise<Response>;

function stubApi(screenHandler: Handler, explainHandler?: Handler) {
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    if (url.startsWith('/api/screener/fields')) return jsonResponse(fieldsFixture);
    if (url === '/api/screens/presets') return jsonResponse(presetsFixture);
    if (url.startsWith('/api/screens/run')) return screenHandler(url, init);
    if (url.startsWith('/api/screens/explain') && explainHandler) return explainHandler(url, init);
    return jsonResponse({ error: { code: 'not_found', message: 'nope', request_id: 'r' } }, 404);
  });
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}

function screenBodies(fetchMock: ReturnType<typeof stubApi>) {
  return fetchMock.mock.calls
    .filter(([u]) => String(u).startsWith('/api/screens/run'))
    .map(([, init]) => JSON.parse(String(init?.body)) as Record<string, unknown>);
}

describe('screener results', () => {
  beforeEach(() => useScreenerStore.getState().reset());

  it('runs on load with no filters and renders formatted rows', async () => {
    const fetchMock = stubApi(() => jsonResponse(screenFixture));
    renderWithProviders(<ScreenerRoute />);

    const rows = await screen.findAllByTestId('result-row');
    expect(rows).toHaveLength(2);
    expect(screen.getByTestId('result-count')).toHaveTextContent('123 stocks');
    expect(screenBodies(fetchMock)[0]).toEqual({ filters: [], sort: 'market_cap', order: 'desc', limit: 50, offset: 0 });

    const first = within(rows[0]!);
    expect(first.getByRole('link', { name: 'AAPL' })).toHaveAttribute('href', '/stocks/AAPL');
    expect(first.getByText('Apple Inc.')).toBeInTheDocument();
    expect(first.getByText('159.54')).toBeInTheDocument();
    expect(first.getByText('$809.51B')).toBeInTheDocument();
    expect(first.getByText('51.61M')).toBeInTheDocument();
    const change = first.getByText('-2.06%');
    expect(change.className).toContain('rose');
    expect(within(rows[1]!).getByText('+1.25%').className).toContain('emerald');
    expect(within(rows[1]!).getByText('—')).toBeInTheDocument(); // null P/E
    expect(screen.getByText('Showing 1–2 of 123')).toBeInTheDocument();
    expect(screen.getByText('Data as of 2018-02-07')).toBeInTheDocument();
  });

  it('sorts server-side when a header is clicked', async () => {
    const fetchMock = stubApi(() => jsonResponse(screenFixture));
    renderWithProviders(<ScreenerRoute />);
    await screen.findAllByTestId('result-row');
    await userEvent.click(screen.getByTestId('sort-pe'));
    await waitFor(() => expect(screenBodies(fetchMock).at(-1)).toMatchObject({ sort: 'pe', order: 'desc' }));
    await userEvent.click(screen.getByTestId('sort-pe'));
    await waitFor(() => expect(screenBodies(fetchMock).at(-1)).toMatchObject({ sort: 'pe', order: 'asc' }));
    expect(screen.getByTestId('sort-pe').closest('th')).toHaveAttribute('aria-sort', 'ascending');
  });

  it('builds a filter through the UI and sends it on Run', async () => {
    const fetchMock = stubApi(() => jsonResponse(screenFixture));
    renderWithProviders(<ScreenerRoute />);
    await screen.findAllByTestId('result-row');
    await userEvent.click(screen.getByTestId('add-filter'));
    const row = screen.getByTestId('filter-row');
    await waitFor(() => expect(within(row).getByRole('option', { name: 'Market Cap' })).toBeInTheDocument());
    await userEvent.selectOptions(within(row).getByLabelText('Field'), 'market_cap');
    await userEvent.selectOptions(within(row).getByLabelText('Operator'), '>');
    await userEvent.type(within(row).getByLabelText('Value'), '100B');
    await userEvent.click(screen.getByTestId('run-screen'));
    await waitFor(() =>
      expect(screenBodies(fetchMock).at(-1)).toMatchObject({ filters: [{ field: 'market_cap', op: '>', value: 100_000_000_000 }] }),
    );
  });

  it('runs the presets the API lists: into the builder, or as query text; premium ones say so', async () => {
    const fetchMock = stubApi(() => jsonResponse(screenFixture));
    renderWithProviders(<ScreenerRoute />);
    await screen.findAllByTestId('result-row');
    const preset = screen.getByTestId('preset-select');
    await waitFor(() => expect(preset).toBeEnabled());
    expect(fetchMock.mock.calls.filter(([u]) => String(u) === '/api/screens/presets')).toHaveLength(1);
    expect(within(preset).getAllByRole('option').map((o) => o.textContent)).toEqual([
      'Choose a preset…',
      'Oversold',
      'Golden Cross',
      'MACD Bullish Cross (Premium)',
    ]);

    await userEvent.selectOptions(preset, 'oversold');
    const row = await screen.findByTestId('filter-row');
    expect(within(row).getByLabelText('Field')).toHaveValue('rsi14');
    expect(within(row).getByLabelText('Value')).toHaveValue('30');
    expect(screen.getByTestId('preset-description')).toHaveTextContent('RSI(14) below 30');
    await waitFor(() =>
      expect(screenBodies(fetchMock).at(-1)).toEqual({ filters: [{ field: 'rsi14', op: '<', value: 30 }], sort: 'rsi14', order: 'asc', limit: 50, offset: 0 }),
    );

    await userEvent.selectOptions(preset, 'golden_cross');
    expect(await screen.findByTestId('applied-query')).toHaveTextContent('sma50 crosses_above sma200 within 10 days');
    expect(screen.queryByTestId('filter-row')).not.toBeInTheDocument();
    expect(preset).toHaveValue('golden_cross');
    await waitFor(() =>
      expect(screenBodies(fetchMock).at(-1)).toEqual({ query: 'sma50 crosses_above sma200 within 10 days', sort: 'market_cap', order: 'desc', limit: 50, offset: 0 }),
    );
  });

  it('navigates to the stock page when a row is clicked', async () => {
    stubApi(() => jsonResponse(screenFixture));
    const { router } = renderWithProviders(<ScreenerRoute />);
    const rows = await screen.findAllByTestId('result-row');
    await userEvent.click(within(rows[1]!).getByText('Energy'));
    await waitFor(() => expect(router.state.location.pathname).toBe('/stocks/XOM'));
  });

  it('shows the API error message in an alert', async () => {
    stubApi(() =>
      jsonResponse({ error: { code: 'invalid_filter', message: 'Unknown field "foo"', details: null, request_id: 'req-9' } }, 422),
    );
    renderWithProviders(<ScreenerRoute />);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Unknown field "foo"');
    expect(alert).toHaveTextContent('req-9');
  });

  it('explains a row: each clause with the value, the threshold and pass or fail', async () => {
    const query = 'market_cap > 100000000000 and pe < 15';
    const fetchMock = stubApi(
      () => jsonResponse({ ...screenFixture, query }),
      () =>
        jsonResponse({
          symbol: 'AAPL',
          query,
          as_of: '2018-02-07',
          snapshot_version: 3,
          pass: false,
          clauses: [
            { clause: 'market_cap > 100000000000', value: 809508034020, threshold: '100000000000', threshold_value: null, pass: true },
            { clause: 'pe < 15', value: 16.86, threshold: '15', threshold_value: null, pass: false },
          ],
        }),
    );
    const { router } = renderWithProviders(<ScreenerRoute />);
    const rows = await screen.findAllByTestId('result-row');
    const trigger = within(rows[0]!).getByRole('button', { name: /Explain AAPL/ });
    await userEvent.click(trigger);

    const panel = await screen.findByTestId('explain-panel');
    const clauses = await within(panel).findAllByTestId('explain-clause');
    expect(clauses.map((c) => Array.from(c.querySelectorAll('td')).map((td) => td.textContent))).toEqual([
      ['market_cap > 100000000000', '$809.51B', '$100.00B', '✓Pass'],
      ['pe < 15', '16.86', '15.00', '✗Fail'],
    ]);
    expect(panel).toHaveTextContent('AAPLdoes not match this screen');
    const explainUrl = String(fetchMock.mock.calls.find(([u]) => String(u).startsWith('/api/screens/explain'))![0]);
    expect(Object.fromEntries(new URL(explainUrl, 'http://x').searchParams)).toEqual({ symbol: 'AAPL', query, as_of: '2018-02-07' });

    // Clicking inside the popover stays on the screener; Escape closes it and gives focus back.
    await userEvent.click(within(panel).getByText('pe < 15'));
    expect(router.state.location.pathname).toBe('/');
    await userEvent.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByTestId('explain-panel')).not.toBeInTheDocument());
    expect(trigger).toHaveFocus();
    expect(router.state.location.pathname).toBe('/');
  });

  it('Escape closes the explain popover even when a toast arrived after it opened', async () => {
    // An alert toast (a Radix dismissable layer) that appears while the popover is open becomes the highest
    // layer: without the fix Escape dismissed that toast, unseen, and left the popover open.
    const query = 'market_cap > 100000000000';
    stubApi(
      () => jsonResponse({ ...screenFixture, query }),
      () =>
        jsonResponse({
          symbol: 'AAPL',
          query,
          as_of: '2018-02-07',
          snapshot_version: 3,
          pass: true,
          clauses: [{ clause: query, value: 809508034020, threshold: '100000000000', threshold_value: null, pass: true }],
        }),
    );
    renderWithProviders(
      <>
        <ScreenerRoute />
        <Toaster />
      </>,
    );
    const rows = await screen.findAllByTestId('result-row');
    const trigger = within(rows[0]!).getByRole('button', { name: /Explain AAPL/ });
    await userEvent.click(trigger);
    const panel = await screen.findByTestId('explain-panel');
    await within(panel).findAllByTestId('explain-clause');

    act(() => {
      toast({ title: 'MSFT crossed above 90.00', tone: 'alert' });
    });
    await screen.findByText('MSFT crossed above 90.00');

    await userEvent.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByTestId('explain-panel')).not.toBeInTheDocument());
    expect(trigger).toHaveFocus();
    // The toast the user was not in stays for its own timer (a second Escape from there is not needed).
    expect(screen.getByText('MSFT crossed above 90.00')).toBeInTheDocument();
  });

  it('has nothing to explain without filters', async () => {
    stubApi(() => jsonResponse({ ...screenFixture, query: null }));
    renderWithProviders(<ScreenerRoute />);
    await screen.findAllByTestId('result-row');
    expect(screen.queryByTestId('explain-row')).not.toBeInTheDocument();
  });
});
