import { Link } from 'react-router-dom';
import { DeleteButton } from '@/components/ui/delete-button';
import { cn } from '@/lib/cn';
import { formatPrice } from '@/lib/format';
import type { Transaction, TransactionKind } from '../api/keys';
import { KIND_LABELS } from './transaction-dialog';

const KIND_STYLES: Record<string, string> = {
  buy: 'text-emerald-300',
  sell: 'text-rose-300',
  dividend: 'text-sky-300',
  split: 'text-violet-300',
};

/** Cash of a transaction: buys cost price × quantity + fees, sells and dividends bring it less fees. */
export function amountOf(t: Transaction): number | null {
  if (t.kind === 'split') return null;
  const gross = t.quantity * t.price;
  return t.kind === 'buy' ? -(gross + t.fees) : gross - t.fees;
}

export function TransactionsTable({ transactions, onDelete }: { transactions: Transaction[]; onDelete: (t: Transaction) => void }) {
  const head = 'px-2 py-2 font-medium';
  return (
    <div className="overflow-x-auto">
      <table className="w-full border-collapse text-[13px]" data-testid="transactions">
        <caption className="sr-only">Transactions in date order</caption>
        <thead>
          <tr className="border-b border-slate-800 text-right text-[11px] uppercase tracking-wide text-slate-400">
            <th scope="col" className={cn(head, 'text-left')}>
              Date
            </th>
            <th scope="col" className={cn(head, 'text-left')}>
              Type
            </th>
            <th scope="col" className={cn(head, 'text-left')}>
              Symbol
            </th>
            <th scope="col" className={head}>
              Quantity
            </th>
            <th scope="col" className={head}>
              Price
            </th>
            <th scope="col" className={cn(head, 'hidden sm:table-cell')}>
              Fees
            </th>
            <th scope="col" className={cn(head, 'hidden sm:table-cell')}>
              Amount
            </th>
            <th scope="col" className="w-9 px-1 py-2">
              <span className="sr-only">Delete</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {transactions.map((t) => {
            const amount = amountOf(t);
            return (
              <tr key={t.id} className="border-b border-slate-800/60 text-right odd:bg-slate-900/30" data-testid="transaction">
                <td className="tabular px-2 py-1.5 text-left text-slate-300">{t.date}</td>
                <td className={cn('px-2 py-1.5 text-left', KIND_STYLES[t.kind])}>{KIND_LABELS[t.kind as TransactionKind] ?? t.kind}</td>
                <td className="px-2 py-1.5 text-left">
                  <Link to={`/stocks/${encodeURIComponent(t.symbol)}`} className="font-semibold text-sky-400 hover:text-sky-300 hover:underline">
                    {t.symbol}
                  </Link>
                </td>
                <td className="num px-2 py-1.5">{t.kind === 'split' ? `${t.quantity}:1` : t.quantity.toLocaleString('en-US')}</td>
                <td className="num px-2 py-1.5">{t.kind === 'split' ? '—' : formatPrice(t.price)}</td>
                <td className="num hidden px-2 py-1.5 sm:table-cell">{t.kind === 'split' ? '—' : formatPrice(t.fees)}</td>
                <td className={cn('num hidden px-2 py-1.5 sm:table-cell', amount !== null && amount < 0 ? 'text-slate-300' : 'text-emerald-300')}>
                  {amount === null ? '—' : formatPrice(amount)}
                </td>
                <td className="px-1 py-1 text-center">
                  <DeleteButton label={`Delete ${t.kind} of ${t.symbol} on ${t.date}`} onClick={() => onDelete(t)} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
