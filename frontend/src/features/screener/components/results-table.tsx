import { useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { cn } from '@/lib/cn';
import { rowLinkHandlers } from '@/lib/row-link';
import { asNumber, asText, changeClass, formatCompact, formatMoneyCompact, formatNumber, formatPercent, formatPrice } from '@/lib/format';
import type { ScreenRow, SortOrder } from '@/types';
import { ExplainPopover } from './explain-popover';

interface Column {
  id: string;
  label: string;
  align: 'left' | 'right';
  className?: string;
  render: (row: ScreenRow) => React.ReactNode;
  title?: string;
}

/** A row's symbol (every screen returns the symbol column). */
export const symbolOf = (row: ScreenRow): string => String(row.symbol);

function rsiClass(rsi: number | null | undefined): string {
  if (typeof rsi !== 'number') return 'text-slate-500';
  if (rsi < 30) return 'text-emerald-400';
  if (rsi > 70) return 'text-rose-400';
  return 'text-slate-300';
}

export const COLUMNS: Column[] = [
  {
    id: 'symbol',
    label: 'Symbol',
    align: 'left',
    className: 'w-20',
    render: (r) => (
      <Link
        to={`/stocks/${encodeURIComponent(symbolOf(r))}`}
        className="font-semibold text-sky-400 hover:text-sky-300 hover:underline"
        onClick={(e) => e.stopPropagation()}
      >
        {symbolOf(r)}
      </Link>
    ),
  },
  {
    id: 'name',
    label: 'Company',
    align: 'left',
    className: 'max-w-[18rem]',
    render: (r) => (
      <span className="block truncate text-slate-200" title={asText(r.name) ?? undefined}>
        {asText(r.name) ?? '—'}
      </span>
    ),
  },
  {
    id: 'sector',
    label: 'Sector',
    align: 'left',
    className: 'max-w-[13rem]',
    render: (r) => (
      <span className="block truncate text-slate-400" title={asText(r.sector) ?? undefined}>
        {asText(r.sector) ?? '—'}
      </span>
    ),
  },
  { id: 'close', label: 'Price', align: 'right', render: (r) => formatPrice(asNumber(r.close)) },
  {
    id: 'change_pct',
    label: 'Change',
    align: 'right',
    render: (r) => <span className={changeClass(asNumber(r.change_pct))}>{formatPercent(asNumber(r.change_pct), { signed: true })}</span>,
  },
  { id: 'volume', label: 'Volume', align: 'right', render: (r) => formatCompact(asNumber(r.volume)) },
  { id: 'market_cap', label: 'Market Cap', align: 'right', render: (r) => formatMoneyCompact(asNumber(r.market_cap)) },
  { id: 'pe', label: 'P/E', align: 'right', title: 'Price / earnings', render: (r) => formatNumber(asNumber(r.pe), 2) },
  {
    id: 'rsi14',
    label: 'RSI',
    align: 'right',
    title: 'Relative Strength Index (14)',
    render: (r) => <span className={rsiClass(asNumber(r.rsi14))}>{formatNumber(asNumber(r.rsi14), 1)}</span>,
  },
];

/** Row height (px) of a virtualised table: every row has this height, so the window is arithmetic. */
export const ROW_HEIGHT = 33;
/** Above this many rows the table renders only the rows in view (plus OVERSCAN either side). */
export const VIRTUAL_THRESHOLD = 200;
export const OVERSCAN = 10;
/** The scrolling viewport's height (px) of a virtualised table. */
export const VIEWPORT_HEIGHT = 640;

/** The rows [start, end) to render for a scroll position: the ones in view and OVERSCAN either side. */
export function visibleRange(count: number, scrollTop: number, viewport = VIEWPORT_HEIGHT, rowHeight = ROW_HEIGHT) {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const start = Math.max(0, first - OVERSCAN);
  const end = Math.min(count, first + Math.ceil(viewport / rowHeight) + OVERSCAN);
  return { start, end: Math.max(start, end) };
}

function SortIcon({ active, order }: { active: boolean; order: SortOrder }) {
  return (
    <svg viewBox="0 0 10 14" className={cn('h-3 w-2.5 flex-none', active ? 'text-sky-400' : 'text-slate-600')} aria-hidden="true">
      <path d="M5 1l4 5H1z" fill="currentColor" opacity={active && order === 'asc' ? 1 : active ? 0.25 : 0.6} />
      <path d="M5 13l4-5H1z" fill="currentColor" opacity={active && order === 'desc' ? 1 : active ? 0.25 : 0.6} />
    </svg>
  );
}

export function ResultsTable({
  rows,
  sort,
  order,
  onSort,
  offset,
  dimmed,
  explain,
  rowAction,
}: {
  rows: ScreenRow[];
  sort: string;
  order: SortOrder;
  /** Without it the headers only show the sort (a shared screen's order is fixed). */
  onSort?: (field: string) => void;
  offset: number;
  dimmed?: boolean;
  /** The screen the rows came from: each row gets an explain control. */
  explain?: { query: string; asOf?: string | null } | null;
  /** A control at the end of each row (the route puts "add to watchlist" there). */
  rowAction?: (row: ScreenRow) => React.ReactNode;
}) {
  const navigate = useNavigate();
  const open = (symbol: string) => navigate(`/stocks/${encodeURIComponent(symbol)}`);
  const [scrollTop, setScrollTop] = useState(0);
  const virtual = rows.length > VIRTUAL_THRESHOLD;
  const { start, end } = virtual ? visibleRange(rows.length, scrollTop) : { start: 0, end: rows.length };
  const span = 1 + COLUMNS.length + (explain ? 1 : 0) + (rowAction ? 1 : 0);

  return (
    <div
      className={cn('overflow-x-auto', virtual && 'overflow-y-auto')}
      data-testid="results-scroll"
      style={virtual ? { height: VIEWPORT_HEIGHT } : undefined}
      onScroll={virtual ? (e) => setScrollTop(e.currentTarget.scrollTop) : undefined}
    >
      <table data-testid="results-table" className={cn('w-full border-collapse text-[13px] transition-opacity', dimmed && 'opacity-60')}>
        <thead className={cn(virtual && 'sticky top-0 z-10 bg-slate-950')}>
          <tr className="border-b border-slate-800 text-[11px] uppercase tracking-wide text-slate-400">
            <th scope="col" className="w-10 px-2 py-2 text-right font-medium text-slate-600">
              #
            </th>
            {COLUMNS.map((col) => {
              const active = sort === col.id;
              return (
                <th
                  key={col.id}
                  scope="col"
                  aria-sort={active ? (order === 'asc' ? 'ascending' : 'descending') : 'none'}
                  className={cn('px-2 py-0 font-medium', col.align === 'right' ? 'text-right' : 'text-left')}
                >
                  {onSort ? (
                    <button
                      type="button"
                      title={col.title ? `Sort by ${col.title}` : `Sort by ${col.label}`}
                      data-testid={`sort-${col.id}`}
                      onClick={() => onSort(col.id)}
                      className={cn(
                        'inline-flex h-8 items-center gap-1 uppercase hover:text-slate-100',
                        col.align === 'right' && 'flex-row-reverse',
                        active && 'text-slate-100',
                      )}
                    >
                      {col.label}
                      <SortIcon active={active} order={order} />
                    </button>
                  ) : (
                    <span
                      title={col.title}
                      className={cn('inline-flex h-8 items-center gap-1 uppercase', col.align === 'right' && 'flex-row-reverse', active && 'text-slate-100')}
                    >
                      {col.label}
                      {active && <SortIcon active order={order} />}
                    </span>
                  )}
                </th>
              );
            })}
            {explain && (
              <th scope="col" className="w-9 px-1 py-2">
                <span className="sr-only">Explain</span>
              </th>
            )}
            {rowAction && (
              <th scope="col" className="w-9 px-1 py-2">
                <span className="sr-only">Watchlist</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {start > 0 && (
            <tr aria-hidden="true" data-testid="spacer-top" style={{ height: start * ROW_HEIGHT }}>
              <td colSpan={span} />
            </tr>
          )}
          {rows.slice(start, end).map((row, k) => (
            <tr
              key={symbolOf(row)}
              data-testid="result-row"
              tabIndex={0}
              {...rowLinkHandlers(() => open(symbolOf(row)))}
              style={virtual ? { height: ROW_HEIGHT } : undefined}
              className={cn(
                'cursor-pointer border-b border-slate-800/60 hover:bg-slate-800/60 focus:bg-slate-800/60 focus:outline-none',
                (start + k) % 2 === 0 && 'bg-slate-900/30',
              )}
            >
              <td className="num px-2 py-1.5 text-slate-600">{offset + start + k + 1}</td>
              {COLUMNS.map((col) => (
                <td
                  key={col.id}
                  className={cn('px-2 py-1.5', col.align === 'right' ? 'num text-slate-200' : 'text-left', col.className)}
                >
                  {col.render(row)}
                </td>
              ))}
              {explain && (
                <td className="px-1 py-1 text-center">
                  <ExplainPopover symbol={symbolOf(row)} query={explain.query} asOf={explain.asOf} />
                </td>
              )}
              {rowAction && <td className="px-1 py-1 text-center">{rowAction(row)}</td>}
            </tr>
          ))}
          {end < rows.length && (
            <tr aria-hidden="true" data-testid="spacer-bottom" style={{ height: (rows.length - end) * ROW_HEIGHT }}>
              <td colSpan={span} />
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
