import { Link, useNavigate } from 'react-router-dom';
import { FlashValue } from '@/components/ui/flash-value';
import { DeleteButton } from '@/components/ui/delete-button';
import { ReorderButtons, type MoveDirection } from '@/components/ui/reorder-buttons';
import { cn } from '@/lib/cn';
import { rowLinkHandlers } from '@/lib/row-link';
import { changeClass, formatCompact, formatPercent, formatPrice } from '@/lib/format';
import type { QuoteMessage } from '@/features/live/messages';
import type { WatchlistItem } from '../api/keys';

/** What a row shows: the streamed quote when there is one, else the API's (live or last close). */
export interface ItemQuote {
  price: number | null;
  change: number | null;
  changePct: number | null;
  volume: number | null;
  live: boolean;
}

/** The absolute change implied by a price and its percent change from the previous close. */
export function changeFrom(price: number | null, changePct: number | null): number | null {
  if (price === null || changePct === null || changePct <= -100) return null;
  return price - price / (1 + changePct / 100);
}

export function itemQuote(item: WatchlistItem, live: QuoteMessage | undefined): ItemQuote {
  const price = live ? live.price : item.price;
  const changePct = live ? live.change_pct : item.change_pct;
  return {
    price,
    changePct,
    change: changeFrom(price, changePct),
    volume: live ? live.volume : item.volume,
    live: !!live || item.quote_source === 'live',
  };
}

export function WatchlistItemsTable({
  items,
  quotes,
  onMove,
  onRemove,
  focusFor,
  onFocused,
  busy,
}: {
  items: WatchlistItem[];
  quotes: ReadonlyMap<string, QuoteMessage>;
  onMove: (symbol: string, direction: MoveDirection) => void;
  onRemove: (symbol: string) => void;
  focusFor: (symbol: string, index: number) => MoveDirection | null;
  onFocused: () => void;
  busy: boolean;
}) {
  const navigate = useNavigate();
  const open = (symbol: string) => navigate(`/stocks/${encodeURIComponent(symbol)}`);
  return (
    <div className="overflow-x-auto">
      <table className="w-full border-collapse text-[13px]" data-testid="watchlist-items">
        <caption className="sr-only">Symbols on this watchlist with their latest quotes</caption>
        <thead>
          <tr className="border-b border-slate-800 text-[11px] uppercase tracking-wide text-slate-400">
            <th scope="col" className="px-2 py-2 text-left font-medium">
              Symbol
            </th>
            <th scope="col" className="hidden px-2 py-2 text-left font-medium md:table-cell">
              Company
            </th>
            <th scope="col" className="px-2 py-2 text-right font-medium">
              Last
            </th>
            <th scope="col" className="hidden px-2 py-2 text-right font-medium sm:table-cell">
              Chg
            </th>
            <th scope="col" className="px-2 py-2 text-right font-medium">
              Chg %
            </th>
            <th scope="col" className="hidden px-2 py-2 text-right font-medium sm:table-cell">
              Volume
            </th>
            <th scope="col" className="w-28 px-2 py-2 text-right font-medium">
              <span className="sr-only">Order and remove</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((item, i) => {
            const q = itemQuote(item, quotes.get(item.symbol));
            return (
              <tr
                key={item.symbol}
                data-testid="watchlist-item"
                data-symbol={item.symbol}
                tabIndex={0}
                aria-label={`${item.symbol}${item.name ? `, ${item.name}` : ''}`}
                {...rowLinkHandlers(() => open(item.symbol))}
                className="cursor-pointer border-b border-slate-800/60 odd:bg-slate-900/30 hover:bg-slate-800/60 focus:bg-slate-800/60 focus:outline-none"
              >
                <td className="px-2 py-1.5">
                  <Link
                    to={`/stocks/${encodeURIComponent(item.symbol)}`}
                    className="font-semibold text-sky-400 hover:text-sky-300 hover:underline"
                  >
                    {item.symbol}
                  </Link>
                  {q.live && (
                    <span className="ml-1.5 inline-block h-1.5 w-1.5 rounded-full bg-emerald-400 align-middle" title="Live quote">
                      <span className="sr-only">(live)</span>
                    </span>
                  )}
                </td>
                <td className="hidden max-w-[18rem] px-2 py-1.5 md:table-cell">
                  <span className="block truncate text-slate-300" title={item.name ?? undefined}>
                    {item.name ?? '—'}
                  </span>
                </td>
                <td className="num px-2 py-1.5 text-slate-100" data-testid="item-price">
                  <FlashValue value={q.price}>{formatPrice(q.price)}</FlashValue>
                </td>
                <td className={cn('num hidden px-2 py-1.5 sm:table-cell', changeClass(q.change))}>
                  {q.change === null ? '—' : `${q.change > 0 ? '+' : ''}${formatPrice(q.change)}`}
                </td>
                <td className={cn('num px-2 py-1.5', changeClass(q.changePct))} data-testid="item-change-pct">
                  {formatPercent(q.changePct, { signed: true })}
                </td>
                <td className="num hidden px-2 py-1.5 text-slate-300 sm:table-cell">
                  <FlashValue value={q.volume}>{formatCompact(q.volume)}</FlashValue>
                </td>
                <td className="whitespace-nowrap px-1 py-1 text-right">
                  <ReorderButtons
                    name={item.symbol}
                    index={i}
                    count={items.length}
                    onMove={(d) => onMove(item.symbol, d)}
                    focus={focusFor(item.symbol, i)}
                    onFocused={onFocused}
                    disabled={busy}
                  />
                  <DeleteButton label={`Remove ${item.symbol}`} title="Remove" onClick={() => onRemove(item.symbol)} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
