import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ScreenResponse, ScreenRow } from '@/types';
import { ScreenerRoute } from '@/app/routes/screener';
import { useScreenerStore } from '../stores/screener-store';
import { ALL_ROWS_PAGE, csvLines, screenCsv } from '../api/all-rows';
import { OVERSCAN, ROW_HEIGHT, ResultsTable, VIEWPORT_HEIGHT, visibleRange } from './results-table';
import { fieldsFixture, presetsFixture } from '@/test/fixtures';
import { jsonResponse, renderWithProviders } from '@/test/utils';

const TOTAL = 8_000;

function row(i: number): ScreenRow {
  return { symbol: `S${i}`, name: `Company ${i}, "the" ${i}`, sector: 'Energy', close: i, market_cap: TOTAL - i } as ScreenRow;
}

const ALL = Array.from({ length: TOTAL }, (_, i) => row(i));

/** The API: pages of the 8,000 matches by limit/offset (at most 500 a request, as the server enforces). */
function stubApi() {
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    if (url.startsWith('/api/screener/fields')) return jsonResponse(fieldsFixture);
    if (url === '/api/screens/presets') return jsonResponse(presetsFixture);
    if (url.startsWith('/api/screens/run')) {
      const body = JSON.parse(String(init?.body)) as { limit: number; offset: number };
      if (body.limit > 500) return jsonResponse({ error: { code: 'invalid', message: 'limit', request_id: 'r' } }, 400);
      const page: ScreenResponse = {
        data: ALL.slice(body.offset, body.offset + body.limit),
        count: TOTAL,
        as_of: '2024-12-31',
        snapshot_version: 3,
        columns: ['symbol', 'name', 'sector', 'close', 'market_cap'],
        query: null,
        clauses: null,
      } as ScreenResponse;
      return jsonResponse(page);
    }
    return jsonResponse({ error: { code: 'not_found', message: 'nope', request_id: 'r' } }, 404);
  });
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}

function renderedNumbers(): number[] {
  return screen.getAllByTestId('result-row').map((r) => Number(within(r).getAllByRole('cell')[0]!.textContent));
}

describe('virtualised results table', () => {
  beforeEach(() => useScreenerStore.getState().reset());
  afterEach(() => vi.unstubAllGlobals());

  it('renders only a window of 8,000 rows and moves it with the scroll position', () => {
    renderWithProviders(<ResultsTable rows={ALL} sort="market_cap" order="desc" offset={0} />);
    const windowSize = Math.ceil(VIEWPORT_HEIGHT / ROW_HEIGHT) + OVERSCAN;
    expect(renderedNumbers()).toEqual(Array.from({ length: windowSize }, (_, i) => i + 1));
    // the spacer keeps the scrollbar of all 8,000 rows
    expect(screen.getByTestId('spacer-bottom')).toHaveStyle({ height: `${(TOTAL - windowSize) * ROW_HEIGHT}px` });

    fireEvent.scroll(screen.getByTestId('results-scroll'), { target: { scrollTop: 5_000 * ROW_HEIGHT } });
    const shown = renderedNumbers();
    expect(shown.length).toBeLessThan(60);
    expect(shown[0]).toBe(5_000 - OVERSCAN + 1);
    expect(shown).toContain(5_001);
    expect(screen.getByTestId('spacer-top')).toHaveStyle({ height: `${(5_000 - OVERSCAN) * ROW_HEIGHT}px` });

    fireEvent.scroll(screen.getByTestId('results-scroll'), { target: { scrollTop: TOTAL * ROW_HEIGHT } });
    expect(renderedNumbers().at(-1)).toBe(TOTAL);
    expect(screen.queryByTestId('spacer-bottom')).toBeNull();
  }, 30_000);

  it('keeps small pages as plain tables', () => {
    renderWithProviders(<ResultsTable rows={ALL.slice(0, 50)} sort="market_cap" order="desc" offset={100} />);
    expect(renderedNumbers()).toEqual(Array.from({ length: 50 }, (_, i) => 101 + i));
    expect(screen.queryByTestId('spacer-top')).toBeNull();
  }, 30_000);

  it('the window covers the viewport wherever it is scrolled', () => {
    for (const top of [0, 1, 32, 33, 10_000, 263_000]) {
      const { start, end } = visibleRange(TOTAL, top);
      expect(start * ROW_HEIGHT).toBeLessThanOrEqual(top);
      expect(Math.min(TOTAL, end) * ROW_HEIGHT).toBeGreaterThanOrEqual(Math.min(top + VIEWPORT_HEIGHT, TOTAL * ROW_HEIGHT));
    }
  });

  it('"Show all" pages through the API 500 rows a request and lists all 8,000', async () => {
    const fetchMock = stubApi();
    renderWithProviders(<ScreenerRoute />);
    await screen.findAllByTestId('result-row');
    await userEvent.click(screen.getByTestId('show-all'));
    await waitFor(() => expect(screen.getByText('Showing 1–8,000 of 8,000')).toBeInTheDocument());
    const bodies = fetchMock.mock.calls
      .filter(([u]) => String(u).startsWith('/api/screens/run'))
      .map(([, init]) => JSON.parse(String(init?.body)) as { limit: number; offset: number })
      .filter((b) => b.limit === ALL_ROWS_PAGE);
    expect(bodies.map((b) => b.offset)).toEqual(Array.from({ length: 16 }, (_, i) => i * 500));
    expect(screen.getAllByTestId('result-row').length).toBeLessThan(60);
  }, 30_000);
});

describe('CSV export of every row', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('streams the pages into one file: a header, every row once, quoting kept', async () => {
    const fetchMock = stubApi();
    const progress: number[] = [];
    const blob = await screenCsv({ filters: [], sort: 'market_cap', order: 'desc', limit: 50, offset: 0 }, (n) => progress.push(n));
    const text = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.readAsText(blob);
    });
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('symbol,name,sector,close,market_cap');
    expect(lines).toHaveLength(TOTAL + 1);
    expect(lines[1]).toBe('S0,"Company 0, ""the"" 0",Energy,0,8000');
    expect(lines.at(-1)).toBe(`S7999,"Company 7999, ""the"" 7999",Energy,7999,1`);
    expect(progress).toEqual(Array.from({ length: 16 }, (_, i) => (i + 1) * 500));
    expect(fetchMock.mock.calls.every(([, init]) => (JSON.parse(String(init?.body)) as { limit: number }).limit <= 500)).toBe(true);
  });

  it('writes empty cells for missing values', () => {
    expect(csvLines(['a', 'b'], [{ a: null, b: 1 } as unknown as ScreenRow], true)).toBe('a,b\n,1\n');
  });
});
