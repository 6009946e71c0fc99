import { useState } from 'react';
import { Link } from 'react-router-dom';
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
import { useUpdateAlert } from '../api/update-alert';
import { describeRule } from '../model/rules';
import { AlertDialog, type ScreenOption } from './alert-dialog';
import { CardHeader, CountBadge } from '@/components/ui/card-header';

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

type Dialog = { kind: 'create' } | { kind: 'edit' | 'delete'; id: string } | null;

/** Alerts: every rule type the API has, created, edited, paused and resumed, deleted. */
export function AlertsPage({ screens, initialSymbol }: { screens: ScreenOption[]; initialSymbol?: string }) {
  const list = useAlerts();
  const create = useCreateAlert();
  const update = useUpdateAlert();
  const toggle = useUpdateAlert();
  const remove = useDeleteAlert();
  const [dialog, setDialog] = useState<Dialog>(initialSymbol ? { kind: 'create' } : null);
  const alerts = list.data?.data ?? [];
  const target = dialog && dialog.kind !== 'create' ? (alerts.find((a) => a.id === dialog.id) ?? null) : null;
  const activeCount = alerts.filter((a) => a.active).length;
  const screenName = (id: string) => screens.find((s) => s.id === id)?.name;
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
        <button type="button" className="btn-primary ml-auto h-7 px-2.5 text-xs" onClick={() => openDialog({ kind: 'create' })} data-testid="new-alert">
          New alert
        </button>
      </CardHeader>
      <div className="flex flex-col gap-2 px-3 empty:hidden [&>*:first-child]:mt-3 [&>*:last-child]:mb-3">
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
            return (
              <li key={a.id} className={cn('flex items-center gap-3 px-3 py-2', !a.active && 'opacity-70')} data-testid="alert-row">
                <ActiveSwitch
                  alert={a}
                  label={label}
                  pending={toggle.isPending && toggle.variables?.id === a.id}
                  onToggle={() => toggle.mutate({ id: a.id, patch: { active: !a.active } })}
                />
                <div className="min-w-0 flex-1">
                  <p className="truncate font-medium text-slate-100">{a.name ?? text}</p>
                  <p className="truncate text-xs text-slate-400">
                    {[a.name ? text : null, a.active ? null : 'Paused', a.created_at ? `Since ${a.created_at.slice(0, 10)}` : null].filter(Boolean).join(' · ')}
                  </p>
                </div>
                {symbol && (
                  <Link to={`/stocks/${encodeURIComponent(symbol)}`} className="hidden text-xs text-sky-400 hover:underline sm:inline">
                    {symbol}
                  </Link>
                )}
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
        pending={create.isPending || update.isPending}
        error={dialog?.kind === 'edit' ? update.error : create.error}
        onSubmit={(values) => {
          const done = { onSuccess: () => setDialog(null) };
          if (dialog?.kind === 'edit' && target) update.mutate({ id: target.id, patch: values }, done);
          else create.mutate({ ...values, options: null }, done); // the server's default options
        }}
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
