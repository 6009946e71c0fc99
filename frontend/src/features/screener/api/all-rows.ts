import { queryOptions, useQuery } from '@tanstack/react-query';
import type { ScreenResponse, ScreenRow } from '@/types';
import type { ScreenRequest } from '../stores/filter-model';
import { runScreen, screenKeys } from './run-screen';

/** The API's largest page (`limit` <= 500): every row of a screen is read this many at a time. */
export const ALL_ROWS_PAGE = 500;
/** At most this many rows are listed or exported (a whole-market screen matches up to ~10,000). */
export const ALL_ROWS_MAX = 20_000;

/**
 * Every page of a screen, in order, as the API returns them (one request of ALL_ROWS_PAGE rows at a
 * time). A page is never bigger than one bounded API response, whatever the number of matches: the
 * API's Lambda answers at most a few hundred kilobytes per request instead of one response of
 * megabytes (Lambda caps a response at 6 MB).
 */
export async function* screenPages(request: ScreenRequest, signal?: AbortSignal): AsyncGenerator<ScreenResponse> {
  let offset = 0;
  for (;;) {
    const page = await runScreen({ ...request, limit: ALL_ROWS_PAGE, offset }, signal);
    yield page;
    offset += page.data.length;
    if (page.data.length < ALL_ROWS_PAGE || offset >= page.count || offset >= ALL_ROWS_MAX) return;
  }
}

export async function fetchAllRows(request: ScreenRequest, signal?: AbortSignal): Promise<ScreenResponse> {
  const rows: ScreenRow[] = [];
  let last: ScreenResponse | undefined;
  for await (const page of screenPages(request, signal)) {
    rows.push(...page.data);
    last = page;
  }
  return { ...(last as ScreenResponse), data: rows };
}

export function allRowsQueryOptions(request: ScreenRequest) {
  const { limit: _limit, offset: _offset, ...screenOnly } = request;
  return queryOptions({
    queryKey: [...screenKeys.all, 'all', screenOnly] as const,
    queryFn: ({ signal }) => fetchAllRows(screenOnly as ScreenRequest, signal),
    staleTime: 30_000,
  });
}

export function useAllRows(request: ScreenRequest, enabled: boolean) {
  return useQuery({ ...allRowsQueryOptions(request), enabled });
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One page's rows as CSV lines (the header first when `header`). */
export function csvLines(columns: string[], rows: ScreenRow[], header: boolean): string {
  const lines = rows.map((row) => columns.map((c) => csvCell((row as Record<string, unknown>)[c])).join(','));
  if (header) lines.unshift(columns.join(','));
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/**
 * The whole screen as a CSV Blob, built page by page: each page becomes one Blob part as it arrives,
 * so neither the API nor the page holds the whole file as one string. `onProgress(rows, total)`.
 */
export async function screenCsv(
  request: ScreenRequest,
  onProgress?: (rows: number, total: number) => void,
  signal?: AbortSignal,
): Promise<Blob> {
  const parts: BlobPart[] = [];
  let rows = 0;
  for await (const page of screenPages(request, signal)) {
    parts.push(csvLines(page.columns, page.data, rows === 0));
    rows += page.data.length;
    onProgress?.(rows, page.count);
  }
  return new Blob(parts, { type: 'text/csv' });
}

export async function downloadScreenCsv(request: ScreenRequest, onProgress?: (rows: number, total: number) => void) {
  const blob = await screenCsv(request, onProgress);
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = 'screen.csv';
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
