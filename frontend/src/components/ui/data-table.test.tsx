import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '@/lib/api-client';
import { DataTable, type Column, type PageQuery } from './data-table';

interface Fruit {
  id: number;
  name: string;
  stock: number;
}

const COLUMNS: Column<Fruit>[] = [
  { id: 'name', header: 'Name', className: 'font-medium', title: (f) => `about ${f.name}`, cell: (f) => f.name },
  { id: 'stock', header: 'Stock', headerClassName: 'text-right', className: (f) => (f.stock === 0 ? 'text-rose-300' : 'text-right'), cell: (f) => f.stock },
  { id: 'actions', cell: (f) => <button type="button">{`Order ${f.name}`}</button> },
];

const FRUITS: Fruit[] = [
  { id: 1, name: 'Apple', stock: 3 },
  { id: 2, name: 'Pear', stock: 0 },
];

const loaded = (data: Fruit[], count = data.length): PageQuery<Fruit> => ({ data: { data, count }, isError: false, error: null });
const paging = (onOffset = vi.fn(), offset = 0) => ({ offset, pageSize: 2, onOffset });

describe('DataTable', () => {
  it('renders the header and a row per item, each column filling its cell', () => {
    render(<DataTable query={loaded(FRUITS)} columns={COLUMNS} rowKey={(f) => f.id} rowTestId={(f) => `fruit-${f.name}`} rowClassName={(f) => f.stock === 0 && 'opacity-50'} empty="No fruit." paging={paging()} />);
    const table = screen.getByRole('table');
    const [head, ...rows] = within(table).getAllByRole('row');
    expect(within(head!).getAllByRole('columnheader').map((th) => th.textContent)).toEqual(['Name', 'Stock', '']);
    expect(within(head!).getByText('Stock')).toHaveClass('px-3', 'py-2', 'text-right');
    expect(rows.map((r) => within(r).getAllByRole('cell').map((td) => td.textContent))).toEqual([
      ['Apple', '3', 'Order Apple'],
      ['Pear', '0', 'Order Pear'],
    ]);
    const pear = screen.getByTestId('fruit-Pear');
    expect(pear).toHaveClass('border-t', 'opacity-50');
    expect(screen.getByTestId('fruit-Apple')).not.toHaveClass('opacity-50');
    const [name, stock] = within(pear).getAllByRole('cell');
    expect(name).toHaveClass('px-3', 'py-1.5', 'font-medium');
    expect(name).toHaveAttribute('title', 'about Pear');
    expect(stock).toHaveClass('text-rose-300');
    expect(within(pear).getByRole('button', { name: 'Order Pear' })).toBeInTheDocument();
    expect(screen.queryByText('No fruit.')).not.toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('shows the header alone while the page loads, and the empty line once the list is empty', () => {
    const props = { columns: COLUMNS, rowKey: (f: Fruit) => f.id, empty: 'No fruit.', paging: paging() };
    const { rerender } = render(<DataTable query={{ data: undefined, isError: false, error: null }} {...props} />);
    expect(screen.getAllByRole('row')).toHaveLength(1);
    expect(screen.queryByText('No fruit.')).not.toBeInTheDocument();
    rerender(<DataTable query={loaded([])} {...props} />);
    expect(screen.getAllByRole('row')).toHaveLength(1);
    expect(screen.getByText('No fruit.')).toBeInTheDocument();
    // without an empty line, an empty list is the header alone
    rerender(<DataTable query={loaded([])} {...props} empty={undefined} />);
    expect(screen.getByRole('table').parentElement?.textContent).toBe('NameStock');
  });

  it("shows the query's error above the table, with Retry only when the page offers it", async () => {
    const onRetry = vi.fn();
    const failed: PageQuery<Fruit> = { data: undefined, isError: true, error: new ApiError({ status: 503, code: 'unavailable', message: 'the service is down', requestId: 'req-9' }) };
    const { rerender } = render(<DataTable query={failed} columns={COLUMNS} rowKey={(f) => f.id} empty="No fruit." onRetry={onRetry} paging={paging()} />);
    const alert = screen.getByRole('alert');
    expect(alert).toHaveTextContent('the service is down');
    expect(alert).toHaveTextContent('request id req-9');
    expect(alert.compareDocumentPosition(screen.getByRole('table')) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(screen.queryByText('No fruit.')).not.toBeInTheDocument();
    await userEvent.click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(onRetry).toHaveBeenCalledTimes(1);
    rerender(<DataTable query={failed} columns={COLUMNS} rowKey={(f) => f.id} paging={paging()} />);
    expect(within(screen.getByRole('alert')).queryByRole('button', { name: 'Retry' })).not.toBeInTheDocument();
  });

  it('pages through the whole count, not the rows on this page', async () => {
    const onOffset = vi.fn();
    const { rerender } = render(<DataTable query={loaded(FRUITS, 5)} columns={COLUMNS} rowKey={(f) => f.id} paging={paging(onOffset)} />);
    const pages = screen.getByRole('navigation', { name: 'Pages' });
    expect(pages).toHaveTextContent('1–2 of 5');
    await userEvent.click(within(pages).getByRole('button', { name: 'Next' }));
    expect(onOffset).toHaveBeenCalledWith(2);
    rerender(<DataTable query={loaded(FRUITS)} columns={COLUMNS} rowKey={(f) => f.id} paging={paging(onOffset)} />);
    expect(screen.queryByRole('navigation', { name: 'Pages' })).not.toBeInTheDocument();
  });
});
