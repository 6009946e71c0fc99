import { asNumber, changeClass, formatByUnit, formatCompact, formatMoneyCompact, formatNumber, formatPercent, formatPrice } from '@/lib/format';
import { useFields } from '@/api/get-fields';
import type { ScreenerField, SecurityDetail } from '@/types';

type Stat = { key: string; label: string; format: (v: unknown) => string; tone?: (v: unknown) => string };

const num = asNumber;

const KNOWN: Stat[] = [
  { key: 'market_cap', label: 'Market cap', format: (v) => formatMoneyCompact(num(v)) },
  { key: 'pe', label: 'P/E', format: (v) => formatNumber(num(v), 2) },
  { key: 'eps', label: 'EPS', format: (v) => formatPrice(num(v)) },
  { key: 'dividend_yield', label: 'Dividend yield', format: (v) => formatPercent(num(v)) },
  { key: 'volume', label: 'Volume', format: (v) => formatCompact(num(v)) },
  { key: 'high_52w', label: '52W high', format: (v) => formatPrice(num(v)) },
  { key: 'low_52w', label: '52W low', format: (v) => formatPrice(num(v)) },
  { key: 'rsi14', label: 'RSI (14)', format: (v) => formatNumber(num(v), 1) },
  { key: 'sma20', label: 'SMA 20', format: (v) => formatPrice(num(v)) },
  { key: 'sma50', label: 'SMA 50', format: (v) => formatPrice(num(v)) },
  { key: 'sma200', label: 'SMA 200', format: (v) => formatPrice(num(v)) },
];
const SKIP = new Set(['close', 'change_pct', 'symbol', 'name', 'sector', 'industry', 'date', 'as_of']);

function humanize(key: string): string {
  const words = key.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function KeyStats({ security, isLoading }: { security: SecurityDetail | undefined; isLoading: boolean }) {
  const snap = security?.snapshot ?? {};
  const { data: catalogue } = useFields();
  const fields = new Map<string, ScreenerField>((catalogue?.data ?? []).map((f) => [f.id, f]));
  const extra = Object.keys(snap).filter((k) => !SKIP.has(k) && !KNOWN.some((s) => s.key === k));
  const rangePos =
    num(snap.close) !== null && num(snap.high_52w) !== null && num(snap.low_52w) !== null && (snap.high_52w as number) > (snap.low_52w as number)
      ? (((snap.close as number) - (snap.low_52w as number)) / ((snap.high_52w as number) - (snap.low_52w as number))) * 100
      : null;

  return (
    <section className="card" aria-label="Key statistics" data-testid="key-stats">
      <h2 className="border-b border-slate-800 px-3 py-2 text-sm font-semibold text-slate-100">Key stats</h2>
      {isLoading ? (
        <p className="px-3 py-4 text-slate-500">Loading…</p>
      ) : (
        <>
          <dl className="grid grid-cols-2 gap-px bg-slate-800/60">
            {KNOWN.map((s) => (
              <div key={s.key} className="flex items-center justify-between gap-2 bg-slate-900 px-2.5 py-1.5">
                <dt className="whitespace-nowrap text-slate-400">{s.label}</dt>
                <dd className="num whitespace-nowrap text-slate-100">{s.format(snap[s.key])}</dd>
              </div>
            ))}
            {extra.map((k) => (
              <div key={k} className="flex items-center justify-between gap-2 bg-slate-900 px-2.5 py-1.5">
                <dt className="truncate text-slate-400" title={fields.get(k)?.description ?? k}>
                  {fields.get(k)?.label ?? humanize(k)}
                </dt>
                <dd className={`num ${fields.get(k)?.unit === 'pct' ? changeClass(num(snap[k])) : 'text-slate-100'}`}>
                  {formatByUnit(snap[k], fields.get(k)?.unit ?? null)}
                </dd>
              </div>
            ))}
          </dl>
          {rangePos !== null && (
            <div className="px-3 py-3">
              <div className="mb-1 flex justify-between text-[11px] text-slate-500">
                <span>52W low</span>
                <span>52W range</span>
                <span>52W high</span>
              </div>
              <div className="relative h-1.5 rounded-full bg-gradient-to-r from-rose-500/60 via-slate-600 to-emerald-500/60">
                <div
                  className="absolute -top-1 h-3.5 w-1 -translate-x-1/2 rounded bg-white"
                  style={{ left: `${Math.min(100, Math.max(0, rangePos))}%` }}
                />
              </div>
            </div>
          )}
          <dl className="border-t border-slate-800 px-3 py-2 text-xs">
            {security?.headquarters && (
              <div className="flex justify-between py-0.5">
                <dt className="text-slate-500">Headquarters</dt>
                <dd className="text-slate-300">{security.headquarters}</dd>
              </div>
            )}
            {security?.date_added && (
              <div className="flex justify-between py-0.5">
                <dt className="text-slate-500">Added to index</dt>
                <dd className="tabular text-slate-300">{security.date_added}</dd>
              </div>
            )}
          </dl>
        </>
      )}
    </section>
  );
}
