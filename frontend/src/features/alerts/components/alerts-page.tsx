import { useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { ErrorAlert } from '@/components/ui/error-alert';
import { DeleteButton } from '@/components/ui/delete-button';
import { ConfirmDeleteDialog } from '@/components/ui/name-dialog';
import { Spinner } from '@/components/ui/spinner';
import { cn } from '@/lib/cn';
import { quotaOf, quotaTitle } from '@/lib/quota';
import { useCreateAlert } from '../api/create-alert';
import { useDeleteAlert } from '../api/delete-alert';
import type { Alert } from '../api/keys';
import { useAlerts } from '../api/list-alerts';
import { useFiredRefresh } from '../api/use-fired-refresh';
import { useUpdateAlert } from '../api/update-alert';
import { endOfDay, firedText, localDay, STATUS_LABELS, statusOf, type AlertOptionsPatchBody, type AlertStatus } from '../model/options';
import { describeRule } from '../model/rules';
import { AlertDialog, type AlertValues, type ScreenOption } from './alert-dialog';
import { AlertHistoryDialog } from './alert-history';
import { CardHeader, CountBadge } from '@/components/ui/card-header';
import type { AlertPatch } from '../api/update-alert';

function ActiveSwitch({ alert, label, pending, onToggle }: { alert: Alert; label: string; pending: boolean; onToggle: () => void }) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={alert.active}
      aria-label={`Active: ${label}`}
      disabled={pending}
      onClick={onToggle}
      data-testid="alert-active"
      className={cn(
        'relative inline-flex h-5 w-9 flex-none items-center rounded-full border transition-colors disabled:opacity-50',
        alert.active ? 'border-sky-500 bg-sky-600' : 'border-slate-600 bg-slate-800',
      )}
    >
      <span className={cn('inline-block h-3.5 w-3.5 rounded-full bg-white transition-transform', alert.active ? 'translate-x-[1.1rem]' : 'translate-x-0.5')} />
    </button>
  );
}

const STATUS_TONES: Record<AlertStatus, string> = {
  active: 'border-emerald-800 text-emerald-300',
  snoozed: 'border-amber-800 text-amber-300',
  paused: 'border-slate-700 text-slate-400',
  expired: 'border-rose-900 text-rose-300',
  completed: 'border-sky-800 text-sky-300',
};

function StatusBadge({ status }: { status: AlertStatus }) {
  return (
    <span className={cn('whitespace-nowrap rounded border px-1.5 py-px text-[11px]', STATUS_TONES[status])} data-testid="alert-status" data-status={status}>
      {STATUS_LABELS[status]}
    </span>
  );
}

function shortDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString('en-US', { month: 'short', day: 'numeric', year: 'numeric' });
}

/** Snooze for a while (the alert keeps following the price but stays silent), or end the snooze. */
const SNOOZES = [
  { days: 1, label: 'Snooze 1 day' },
  { days: 7, label: 'Snooze 1 week' },
  { days: 30, label: 'Snooze 30 days' },
];

export function snoozeUntil(days: number, now = new Date()): string {
  const d = new Date(now);
  d.setDate(d.getDate() + days);
  return endOfDay(localDay(d));
}

/** The update for an edit: the rule only when it changed (a new rule re-arms the alert), the options always. */
export function patchOf(alert: Alert, values: AlertValues, premium: boolean): AlertPatch {
  const options: AlertOptionsPatchBody = { ...values.options };
  if (options.expires_at === null && !premium) delete options.expires_at; // a free alert keeps its expiry
  const patch: AlertPatch = { name: values.name, active: values.active, options };
  if (JSON.stringify(values.rule) !== JSON.stringify(alert.rule)) patch.rule = values.rule;
  return patch;
}

type Dialog = { kind: 'create' } | { kind: 'edit' | 'delete'; id: string } | null;

/** Alerts: every rule type and scope the API has, created, edited, paused and resumed, snoozed, deleted; their history. */
export function AlertsPage({
  screens,
  watchlists = [],
  premium = false,
  initialSymbol,
}: {
  screens: ScreenOption[];
  watchlists?: ScreenOption[];
  premium?: boolean;
  initialSymbol?: string;
}) {
  const [params, setParams] = useSearchParams();
  const historyId = params.get('history');
  const list = useAlerts();
  useFiredRefresh();
  const snooze = useUpdateAlert();
  const create = useCreateAlert();
  const update = useUpdateAlert();
  const toggle = useUpdateAlert();
  const remove = useDeleteAlert();
  const [dialog, setDialog] = useState<Dialog>(initialSymbol ? { kind: 'create' } : null);
  const alerts = list.data?.data ?? [];
  const target = dialog && dialog.kind !== 'create' ? (alerts.find((a) => a.id === dialog.id) ?? null) : null;
  const activeCount = alerts.filter((a) => a.active).length;
  const screenName = (id: string) => screens.find((s) => s.id === id)?.name;
  const historyOf = historyId ? alerts.find((a) => a.id === historyId) : undefined;
  const showHistory = (id: string | null) =>
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        if (id) next.set('history', id);
        else next.delete('history');
        return next;
      },
      { replace: true },
    );
  const quota = quotaOf(toggle.error, 'active_alerts') ?? quotaOf(create.error, 'active_alerts');

  const openDialog = (next: Dialog) => {
    create.reset();
    update.reset();
    remove.reset();
    setDialog(next);
  };
  const close = (open: boolean) => {
    if (!open) setDialog(null);
  };

  return (
    <section className="card flex flex-col" aria-labelledby="alerts-heading" data-testid="alerts">
      <CardHeader id="alerts-heading" level={1} title="Alerts" className="flex-wrap gap-2">
        {list.data && (
          <CountBadge data-testid="active-count">
            {quota ? `${activeCount} of ${quota.limit} active` : `${activeCount} active`}
          </CountBadge>
        )}
        {list.isFetching && <Spinner />}
        <Link to="/alerts/preferences" className="ml-auto text-xs text-sky-400 hover:underline" data-testid="preferences-link">
          Notification preferences
        </Link>
        <button type="button" className="btn-primary h-7 px-2.5 text-xs" onClick={() => openDialog({ kind: 'create' })} data-testid="new-alert">
          New alert
        </button>
      </CardHeader>
      <div className="flex flex-col gap-2 px-3 empty:hidden [&>*:first-child]:mt-3 [&>*:last-child]:mb-3">
        {snooze.isError && <ErrorAlert title="The alert could not be snoozed" error={snooze.error} />}
        {toggle.isError && (
          <ErrorAlert title={quotaTitle(toggle.error, 'active_alerts', 'active-alert', 'The alert could not be changed')} error={toggle.error} />
        )}
        {list.isPending && (
          <p className="flex items-center gap-2 py-6 text-slate-400">
            <Spinner /> Loading your alerts…
          </p>
        )}
        {list.isError && <ErrorAlert title="Could not load your alerts" error={list.error} onRetry={() => void list.refetch()} />}
        {list.data && alerts.length === 0 && (
          <p className="py-6 text-center text-slate-500" data-testid="no-alerts">
            No alerts yet. Get notified when a price crosses a level, a stock breaks out, or a screen changes.
          </p>
        )}
      </div>
      {alerts.length > 0 && (
        <ul className="flex flex-col divide-y divide-slate-800/70 border-t border-slate-800" aria-label="Your alerts">
          {alerts.map((a) => {
            const text = describeRule(a.rule, screenName);
            const label = a.name ?? text;
            const symbol = typeof a.rule.symbol === 'string' ? a.rule.symbol : null;
            const status = statusOf(a);
            const facts = [
              a.name ? text : null,
              firedText(a.fired_count),
              a.last_fired_at ? `last ${shortDate(a.last_fired_at)}` : null,
              status === 'snoozed' && a.snoozed_until ? `until ${shortDate(a.snoozed_until)}` : null,
              status !== 'expired' && a.expires_at ? `expires ${shortDate(a.expires_at)}` : null,
            ];
            const snoozing = snooze.isPending && snooze.variables?.id === a.id;
            return (
              <li key={a.id} className={cn('flex flex-wrap items-center gap-x-3 gap-y-1 px-3 py-2', status !== 'active' && 'opacity-80')} data-testid="alert-row" data-alert-id={a.id}>
                <ActiveSwitch
                  alert={a}
                  label={label}
                  pending={toggle.isPending && toggle.variables?.id === a.id}
                  onToggle={() => toggle.mutate({ id: a.id, patch: { active: !a.active } })}
                />
                <div className="min-w-0 flex-1">
                  <p className="flex items-center gap-2 font-medium text-slate-100">
                    <span className="truncate">{label}</span>
                    <StatusBadge status={status} />
                  </p>
                  <p className="truncate text-xs text-slate-400" data-testid="alert-facts">
                    {facts.filter(Boolean).join(' · ')}
                  </p>
                </div>
                {symbol && (
                  <Link to={`/stocks/${encodeURIComponent(symbol)}`} className="hidden text-xs text-sky-400 hover:underline sm:inline">
                    {symbol}
                  </Link>
                )}
                {status === 'snoozed' ? (
                  <button
                    type="button"
                    className="btn-ghost h-7 px-2 text-xs"
                    disabled={snoozing}
                    onClick={() => snooze.mutate({ id: a.id, patch: { options: { snoozed_until: null } } })}
                    aria-label={`Unsnooze ${label}`}
                  >
                    Unsnooze
                  </button>
                ) : (
                  <select
                    className="select h-7 w-28 text-xs"
                    aria-label={`Snooze ${label}`}
                    value=""
                    disabled={snoozing || status !== 'active'}
                    onChange={(e) => {
                      const days = Number(e.target.value);
                      if (days > 0) snooze.mutate({ id: a.id, patch: { options: { snoozed_until: snoozeUntil(days) } } });
                    }}
                  >
                    <option value="">Snooze…</option>
                    {SNOOZES.map((z) => (
                      <option key={z.days} value={z.days}>
                        {z.label}
                      </option>
                    ))}
                  </select>
                )}
                <button type="button" className="btn-ghost h-7 px-2 text-xs" onClick={() => showHistory(a.id)} aria-label={`History of ${label}`} data-testid="alert-history-button">
                  History
                </button>
                <button type="button" className="btn-ghost h-7 px-2 text-xs" onClick={() => openDialog({ kind: 'edit', id: a.id })} aria-label={`Edit ${label}`}>
                  Edit
                </button>
                <DeleteButton label={`Delete ${label}`} onClick={() => openDialog({ kind: 'delete', id: a.id })} />
              </li>
            );
          })}
        </ul>
      )}

      <AlertDialog
        open={dialog?.kind === 'create' || (dialog?.kind === 'edit' && target !== null)}
        onOpenChange={close}
        alert={dialog?.kind === 'edit' ? target : null}
        initialSymbol={initialSymbol}
        screens={screens}
        watchlists={watchlists}
        premium={premium}
        pending={create.isPending || update.isPending}
        error={dialog?.kind === 'edit' ? update.error : create.error}
        onSubmit={(values) => {
          const done = { onSuccess: () => setDialog(null) };
          if (dialog?.kind === 'edit' && target) update.mutate({ id: target.id, patch: patchOf(target, values, premium) }, done);
          else create.mutate(values, done);
        }}
      />
      <AlertHistoryDialog
        alertId={historyId && (historyOf || list.isPending) ? historyId : null}
        title={historyOf ? (historyOf.name ?? describeRule(historyOf.rule, screenName)) : 'alert'}
        onClose={() => showHistory(null)}
      />
      <ConfirmDeleteDialog
        open={dialog?.kind === 'delete' && target !== null}
        onOpenChange={close}
        title="Delete this alert?"
        description={target ? `“${target.name ?? describeRule(target.rule, screenName)}” will be deleted.` : ''}
        pending={remove.isPending}
        error={remove.error}
        errorTitle="The alert could not be deleted"
        testId="delete-alert-dialog"
        onConfirm={() => target && remove.mutate(target.id, { onSuccess: () => setDialog(null) })}
      />
    </section>
  );
}
