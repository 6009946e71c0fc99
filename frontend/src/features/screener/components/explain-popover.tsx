import * as Popover from '@radix-ui/react-popover';
import { useState } from 'react';
import { ErrorAlert } from '@/components/ui/error-alert';
import { Spinner } from '@/components/ui/spinner';
import { useFields } from '@/api/get-fields';
import { cn } from '@/lib/cn';
import { formatByUnit } from '@/lib/format';
import type { ExplainClause, ScreenerField } from '@/types';
import { useExplainRow } from '../api/explain-row';

function subjectField(clause: string, fieldsById: Map<string, ScreenerField>): ScreenerField | undefined {
  const name = /^[a-z_][a-z0-9_]*/i.exec(clause.trim())?.[0];
  return name ? fieldsById.get(name) : undefined;
}

function formatThresholdPart(part: string | number, unit: string | null | undefined): string {
  const n = typeof part === 'number' ? part : Number(part);
  if (typeof part === 'number' || (part.trim() !== '' && Number.isFinite(n))) return formatByUnit(n, unit);
  return String(part);
}

export function formatThreshold(c: ExplainClause, unit: string | null | undefined): string {
  if (c.threshold === null) return '—';
  let text: string;
  if (Array.isArray(c.threshold)) {
    const parts = c.threshold.map((p) => formatThresholdPart(p, unit));
    text = / between /i.test(c.clause) && parts.length === 2 ? `${parts[0]} – ${parts[1]}` : parts.join(', ');
  } else {
    text = formatThresholdPart(c.threshold, unit);
  }
  // An expression threshold (sma200, 1.1 * avg(volume, 20)) also shows its value for this symbol.
  if (c.threshold_value !== null && c.threshold_value !== undefined) text += ` (${formatByUnit(c.threshold_value, unit)})`;
  return text;
}

function PassBadge({ pass }: { pass: boolean }) {
  return (
    <span
      className={cn(
        'inline-flex items-center gap-1 rounded px-1.5 py-px text-[11px] font-semibold',
        pass ? 'bg-emerald-500/15 text-emerald-300' : 'bg-rose-500/15 text-rose-300',
      )}
    >
      <span aria-hidden="true">{pass ? '✓' : '✗'}</span>
      {pass ? 'Pass' : 'Fail'}
    </span>
  );
}

function ExplainBody({ symbol, query, asOf }: { symbol: string; query: string; asOf?: string | null }) {
  const explain = useExplainRow({ symbol, query, asOf }, true);
  const fields = useFields();
  const fieldsById = new Map((fields.data?.data ?? []).map((f) => [f.id, f]));

  if (explain.isPending) {
    return (
      <p className="flex items-center gap-2 py-4 text-slate-400" role="status">
        <Spinner /> Checking {symbol} against each condition…
      </p>
    );
  }
  if (explain.isError) return <ErrorAlert title={`Could not explain ${symbol}`} error={explain.error} onRetry={() => void explain.refetch()} />;

  const data = explain.data;
  return (
    <div className="flex flex-col gap-2">
      <p className="flex items-center gap-2 text-slate-200">
        <span className="font-semibold">{data.symbol}</span>
        <span>{data.pass ? 'matches this screen' : 'does not match this screen'}</span>
        <PassBadge pass={data.pass} />
      </p>
      <table className="w-full border-collapse text-[12px]" data-testid="explain-table">
        <caption className="sr-only">
          Each condition of the screen with {data.symbol}&apos;s value
        </caption>
        <thead>
          <tr className="border-b border-slate-800 text-left text-[10px] uppercase tracking-wide text-slate-500">
            {['Condition', 'Value', 'Threshold', 'Result'].map((label, i) => (
              <th key={label} scope="col" className={cn('py-1 font-medium', i > 0 && 'text-right', i < 3 && 'pr-2')}>
                {label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {data.clauses.map((c, i) => {
            const unit = subjectField(c.clause, fieldsById)?.unit;
            return (
              <tr key={i} className="border-b border-slate-800/60 align-top" data-testid="explain-clause">
                <td className="max-w-[12rem] break-words py-1.5 pr-2 font-mono text-[11px] text-slate-300">{c.clause}</td>
                <td className="num py-1.5 pr-2 text-slate-100">{formatByUnit(c.value, unit)}</td>
                <td className="num py-1.5 pr-2 text-slate-400">{formatThreshold(c, unit)}</td>
                <td className="py-1.5 text-right">
                  <PassBadge pass={c.pass} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p className="text-[11px] text-slate-500">Data as of {data.as_of}</p>
    </div>
  );
}

/** A row's "why?" control: each clause of the screen with the symbol's value, threshold and result. */
export function ExplainPopover({ symbol, query, asOf }: { symbol: string; query: string; asOf?: string | null }) {
  const [open, setOpen] = useState(false);
  return (
    <Popover.Root open={open} onOpenChange={setOpen}>
      <Popover.Trigger
        type="button"
        className={cn(
          'inline-flex h-6 w-6 items-center justify-center rounded text-slate-500 hover:bg-slate-700 hover:text-slate-100',
          open && 'bg-slate-700 text-slate-100',
        )}
        aria-label={`Explain ${symbol}: how it scores on each condition`}
        title="Why does this stock match?"
        data-testid="explain-row"
      >
        <svg viewBox="0 0 20 20" className="h-4 w-4" aria-hidden="true">
          <circle cx="10" cy="10" r="7.25" fill="none" stroke="currentColor" strokeWidth="1.5" />
          <path d="M10 9v5" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" />
          <circle cx="10" cy="6.3" r="1" fill="currentColor" />
        </svg>
      </Popover.Trigger>
      <Popover.Portal>
        <Popover.Content
          side="left"
          align="start"
          sideOffset={6}
          collisionPadding={8}
          className="menu-content z-50 w-[min(28rem,calc(100vw-1rem))] p-3"
          data-testid="explain-panel"
          aria-label={`Why ${symbol} matches`}
          // Radix only lets the highest dismissable layer see Escape: a toast that arrives while this is open
          // (an alert push) is higher, so Escape pressed in here closes the popover itself.
          onKeyDown={(e) => {
            if (e.key === 'Escape') setOpen(false);
          }}
        >
          {open && <ExplainBody symbol={symbol} query={query} asOf={asOf} />}
          <Popover.Arrow className="fill-slate-700" />
        </Popover.Content>
      </Popover.Portal>
    </Popover.Root>
  );
}
