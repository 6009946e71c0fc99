import type { ReactNode } from 'react';
import { ErrorAlert } from '@/components/ui/error-alert';
import { OffsetPager } from '@/components/ui/offset-pager';
import { cn } from '@/lib/cn';

/** One column of a {@link DataTable}: its header and how each row fills its cell. */
export interface Column<T> {
  /** Unique within the table (the cells' key). */
  id: string;
  /** The header's content; none for a column of row actions. */
  header?: ReactNode;
  /** Classes added to the header cell's padding, e.g. `text-right`. */
  headerClassName?: string;
  /** Classes added to each body cell's padding, the same for every row or per row. */
  className?: string | ((row: T) => string);
  /** Each cell's tooltip. */
  title?: (row: T) => string;
  cell: (row: T) => ReactNode;
}

/** One page of an offset-paged list, as the API returns it: the rows and how many there are in all. */
export interface Page<T> {
  data: T[];
  count: number;
}

/** What the table reads of a TanStack Query result. */
export interface PageQuery<T> {
  data: Page<T> | undefined;
  isError: boolean;
  error: unknown;
}

/**
 * An offset-paged list as a table (the admin pages' lists): the query's error above it, the header, a row per
 * item of the current page, the `empty` line under it when the list has no item, then the pager. While the
 * page loads the header stands alone.
 */
export function DataTable<T>({
  query,
  columns,
  rowKey,
  rowTestId,
  rowClassName,
  empty,
  onRetry,
  paging,
}: {
  query: PageQuery<T>;
  columns: readonly Column<T>[];
  rowKey: (row: T) => string | number;
  rowTestId?: (row: T) => string;
  /** Classes added to a row's border, e.g. the selected row's background. */
  rowClassName?: (row: T) => string | false | undefined;
  /** The line shown when the list is empty; without it, the header alone. */
  empty?: string;
  /** The error's Retry button; without it, none. */
  onRetry?: () => void;
  paging: { offset: number; pageSize: number; onOffset: (offset: number) => void };
}) {
  return (
    <>
      {query.isError && <ErrorAlert error={query.error} onRetry={onRetry} />}
      <table className="w-full text-sm">
        <thead className="text-left text-xs text-slate-500">
          <tr>
            {columns.map((col) => (
              <th key={col.id} className={cn('px-3 py-2', col.headerClassName)}>
                {col.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {(query.data?.data ?? []).map((row) => (
            <tr key={rowKey(row)} className={cn('border-t border-slate-800/70', rowClassName?.(row))} data-testid={rowTestId?.(row)}>
              {columns.map((col) => (
                <td key={col.id} className={cn('px-3 py-1.5', typeof col.className === 'function' ? col.className(row) : col.className)} title={col.title?.(row)}>
                  {col.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {empty !== undefined && query.data && query.data.count === 0 && <p className="px-3 py-6 text-center text-sm text-slate-500">{empty}</p>}
      <OffsetPager offset={paging.offset} pageSize={paging.pageSize} count={query.data?.count ?? 0} onOffset={paging.onOffset} />
    </>
  );
}
