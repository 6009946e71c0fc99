import { useState } from 'react';
import { Link } from 'react-router-dom';
import { Modal } from '@/components/ui/dialog';
import { ErrorAlert } from '@/components/ui/error-alert';
import { OffsetPager } from '@/components/ui/offset-pager';
import { Spinner } from '@/components/ui/spinner';
import { cn } from '@/lib/cn';
import { useAlertHistory } from '../api/alert-history';
import type { AlertEvent } from '../api/keys';
import { deliveriesOf, explainFiring, firingSource, type DeliveryTone } from '../model/history';

const PAGE = 20;

const TONES: Record<DeliveryTone, string> = {
  ok: 'border-emerald-800 bg-emerald-950/50 text-emerald-200',
  off: 'border-slate-700 bg-slate-800/60 text-slate-400',
  failed: 'border-rose-800 bg-rose-950/50 text-rose-200',
  held: 'border-amber-800 bg-amber-950/40 text-amber-200',
  pending: 'border-sky-800 bg-sky-950/40 text-sky-200',
};

function when(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('en-US', { dateStyle: 'medium', timeStyle: 'medium' });
}

/** One firing: when, why (clause by clause), and where it was delivered. */
function Firing({ event }: { event: AlertEvent }) {
  const clauses = explainFiring(event);
  const deliveries = deliveriesOf(event);
  return (
    <li className="flex flex-col gap-2 px-1 py-3" data-testid="alert-event">
      <div className="flex flex-wrap items-baseline gap-x-2">
        <time dateTime={event.fired_at} className="font-medium text-slate-100">
          {when(event.fired_at)}
        </time>
        <span className="text-xs text-slate-500">{firingSource(event)}</span>
        {event.symbol && (
          <Link to={`/stocks/${encodeURIComponent(event.symbol)}`} className="ml-auto text-xs text-sky-400 hover:underline">
            {event.symbol}
          </Link>
        )}
      </div>
      <p className="text-slate-300" data-testid="event-message">
        {event.message}
      </p>
      {clauses.length > 0 && (
        <table className="w-full text-xs" data-testid="event-explain">
          <caption className="sr-only">Why it fired</caption>
          <thead className="text-left text-slate-500">
            <tr>
              <th scope="col" className="font-normal">
                Clause
              </th>
              <th scope="col" className="text-right font-normal">
                Value
              </th>
              <th scope="col" className="text-right font-normal">
                Against
              </th>
              <th scope="col" className="w-6 font-normal">
                <span className="sr-only">Passed</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {clauses.map((c, i) => (
              <tr key={i} className="border-t border-slate-800/70" data-testid="event-clause">
                <td className="py-0.5 font-mono text-slate-300">{c.clause}</td>
                <td className="tabular py-0.5 text-right text-slate-100">{c.value}</td>
                <td className="tabular py-0.5 text-right text-slate-400">{c.threshold}</td>
                <td className={cn('py-0.5 text-center', c.passed ? 'text-emerald-400' : 'text-rose-400')} aria-label={c.passed ? 'passed' : 'failed'}>
                  {c.passed ? '✓' : '✗'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ul className="flex flex-wrap gap-1" aria-label="Delivery" data-testid="event-delivery">
        {deliveries.length === 0 ? (
          <li className={cn('rounded border px-1.5 py-0.5 text-[11px]', TONES.pending)}>Being delivered…</li>
        ) : (
          deliveries.map((d) => (
            <li key={d.channel} className={cn('rounded border px-1.5 py-0.5 text-[11px]', TONES[d.tone])} data-channel={d.channel} data-tone={d.tone}>
              {d.label}: {d.status}
            </li>
          ))
        )}
      </ul>
    </li>
  );
}

/** An alert's firings, newest first, a page at a time. */
export function AlertHistoryDialog({ alertId, title, onClose }: { alertId: string | null; title: string; onClose: () => void }) {
  const [offset, setOffset] = useState(0);
  const history = useAlertHistory(alertId, { limit: PAGE, offset });
  const events = history.data?.data ?? [];
  return (
    <Modal
      open={alertId !== null}
      onOpenChange={(open) => {
        if (!open) {
          setOffset(0);
          onClose();
        }
      }}
      title={`History: ${title}`}
      testId="alert-history"
      wide
    >
      {history.isPending && (
        <p className="flex items-center gap-2 py-4 text-slate-400">
          <Spinner /> Loading the history…
        </p>
      )}
      {history.isError && <ErrorAlert title="Could not load the history" error={history.error} onRetry={() => void history.refetch()} />}
      {history.data && events.length === 0 && (
        <p className="py-4 text-center text-slate-500" data-testid="no-events">
          It has not fired yet.
        </p>
      )}
      {events.length > 0 && <ul className="flex flex-col divide-y divide-slate-800">{events.map((e) => <Firing key={e.id} event={e} />)}</ul>}
      {(history.data?.count ?? 0) > PAGE && <OffsetPager offset={offset} pageSize={PAGE} count={history.data?.count ?? 0} onOffset={setOffset} previous="Newer" next="Older" />}
    </Modal>
  );
}
