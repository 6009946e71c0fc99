import { Link } from 'react-router-dom';
import { FlashValue } from '@/components/ui/flash-value';
import { cn } from '@/lib/cn';
import { changeClass, formatNumber, formatPercent, formatPrice } from '@/lib/format';
import type { QuoteMessage } from '@/features/live/messages';
import type { Holding, Totals } from '../api/keys';

/** A holding valued at the streamed price when there is one (the API's figures are at its latest price). */
export function liveHolding(h: Holding, quote: QuoteMessage | undefined): Holding {
  if (!quote || h.quantity === 0) return h;
  const value = h.quantity * quote.price;
  const unrealised = value - h.cost_basis;
  return {
    ...h,
    price: quote.price,
    price_as_of: quote.ts,
    market_value: value,
    unrealised_pnl: unrealised,
    unrealised_pct: h.cost_basis ? (unrealised / h.cost_basis) * 100 : null,
  };
}

export function totalsOf(holdings: Holding[]): Totals {
  const sum = (f: (h: Holding) => number | null) => holdings.reduce((acc, h) => acc + (f(h) ?? 0), 0);
  const cost = sum((h) => h.cost_basis);
  const value = sum((h) => h.market_value);
  return { cost_basis: cost, market_value: value, unrealised_pnl: value - cost, realised_pnl: sum((h) => h.realised_pnl), dividends: sum((h) => h.dividends) };
}

function signedMoney(value: number | null | undefined): string {
  if (typeof value !== 'number') return '—';
  return `${value > 0 ? '+' : ''}${formatPrice(value)}`;
}

function qty(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString('en-US') : formatNumber(value, 4).replace(/0+$/, '');
}

export function HoldingsTable({ holdings, totals }: { holdings: Holding[]; totals: Totals }) {
  const head = 'px-2 py-2 font-medium';
  return (
    <div className="overflow-x-auto">
      <table className="w-full border-collapse text-[13px]" data-testid="holdings">
        <caption className="sr-only">Holdings with FIFO cost basis and profit and loss</caption>
        <thead>
          <tr className="border-b border-slate-800 text-right text-[11px] uppercase tracking-wide text-slate-400">
            <th scope="col" className={cn(head, 'text-left')}>
              Symbol
            </th>
            <th scope="col" className={head}>
              Qty
            </th>
            <th scope="col" className={cn(head, 'hidden md:table-cell')}>
              Avg cost
            </th>
            <th scope="col" className={head}>
              Price
            </th>
            <th scope="col" className={head}>
              Market value
            </th>
            <th scope="col" className={head}>
              Unrealised P&amp;L
            </th>
            <th scope="col" className={cn(head, 'hidden sm:table-cell')}>
              Realised P&amp;L
            </th>
            <th scope="col" className={cn(head, 'hidden lg:table-cell')}>
              Dividends
            </th>
          </tr>
        </thead>
        <tbody>
          {holdings.map((h) => (
            <tr
              key={h.symbol}
              data-testid="holding"
              data-symbol={h.symbol}
              className={cn('border-b border-slate-800/60 text-right odd:bg-slate-900/30', h.quantity === 0 && 'text-slate-500')}
            >
              <th scope="row" className="px-2 py-1.5 text-left font-normal">
                <Link to={`/stocks/${encodeURIComponent(h.symbol)}`} className="font-semibold text-sky-400 hover:text-sky-300 hover:underline">
                  {h.symbol}
                </Link>
                {h.quantity === 0 && <span className="ml-1.5 text-[11px] text-slate-500">closed</span>}
              </th>
              <td className="num px-2 py-1.5" data-testid="holding-quantity">
                {qty(h.quantity)}
              </td>
              <td className="num hidden px-2 py-1.5 md:table-cell">{formatPrice(h.average_cost)}</td>
              <td className="num px-2 py-1.5">
                <FlashValue value={h.price}>{formatPrice(h.price)}</FlashValue>
              </td>
              <td className="num px-2 py-1.5 text-slate-100" data-testid="holding-value">
                {formatPrice(h.market_value)}
              </td>
              <td className={cn('num px-2 py-1.5', changeClass(h.unrealised_pnl))}>
                {signedMoney(h.unrealised_pnl)}
                <span className="ml-1 text-[11px]">{h.unrealised_pct === null ? '' : `(${formatPercent(h.unrealised_pct, { signed: true })})`}</span>
              </td>
              <td className={cn('num hidden px-2 py-1.5 sm:table-cell', changeClass(h.realised_pnl))}>{signedMoney(h.realised_pnl)}</td>
              <td className="num hidden px-2 py-1.5 lg:table-cell">{formatPrice(h.dividends)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr className="text-right font-medium text-slate-100" data-testid="holdings-totals">
            <th scope="row" className="px-2 py-2 text-left">
              Total
            </th>
            <td className="px-2 py-2" />
            <td className="num hidden px-2 py-2 md:table-cell" />
            <td className="px-2 py-2" />
            <td className="num px-2 py-2">{formatPrice(totals.market_value)}</td>
            <td className={cn('num px-2 py-2', changeClass(totals.unrealised_pnl))}>{signedMoney(totals.unrealised_pnl)}</td>
            <td className={cn('num hidden px-2 py-2 sm:table-cell', changeClass(totals.realised_pnl))}>{signedMoney(totals.realised_pnl)}</td>
            <td className="num hidden px-2 py-2 lg:table-cell">{formatPrice(totals.dividends)}</td>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}
