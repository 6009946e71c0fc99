import { useEffect, useState, type FormEvent } from 'react';
import { SymbolCombobox } from '@/components/symbol-combobox';
import { DialogClose, Modal } from '@/components/ui/dialog';
import { ErrorAlert } from '@/components/ui/error-alert';
import { SelectField } from '@/components/ui/select-field';
import { Spinner } from '@/components/ui/spinner';
import { TextField } from '@/components/ui/text-field';
import type { ApiError } from '@/lib/api-client';
import { describeFormError } from '@/lib/form-errors';
import { quotaOf } from '@/lib/quota';
import type { Alert, AlertRule } from '../api/keys';
import { ALERT_TYPES, draftOf, emptyDraft, RULE_TYPES, ruleOf, SMA_PERIODS, type FormAlertType, type RuleDraft, type RuleField } from '../model/rules';

const FIELDS = ['name', 'symbol', 'price', 'threshold_pct', 'direction', 'period', 'threshold', 'multiple', 'screen_id'] as const;

export interface ScreenOption {
  id: string;
  name: string;
}

export interface AlertValues {
  name: string | null;
  rule: AlertRule;
  active: boolean;
}

function fieldOf(error: ApiError): string | undefined {
  const d = error.details as { symbol?: unknown } | null | undefined;
  return d && typeof d === 'object' && 'symbol' in d ? 'symbol' : undefined;
}

/** Create or edit an alert: the rule's own fields for its type, the API's refusals on them. */
export function AlertDialog({
  open,
  onOpenChange,
  alert,
  initialSymbol,
  screens,
  pending,
  error,
  onSubmit,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** The alert to edit; none to create one. */
  alert: Alert | null;
  initialSymbol?: string;
  screens: ScreenOption[];
  pending: boolean;
  error: unknown;
  onSubmit: (values: AlertValues) => void;
}) {
  const [draft, setDraft] = useState<RuleDraft>(() => emptyDraft());
  const [name, setName] = useState('');
  const [active, setActive] = useState(true);

  useEffect(() => {
    if (!open) return;
    setDraft(alert ? draftOf(alert.rule) : emptyDraft('price_above', initialSymbol ?? ''));
    setName(alert?.name ?? '');
    setActive(alert?.active ?? true);
  }, [open, alert, initialSymbol]);

  const info = RULE_TYPES[draft.type];
  const uses = (f: RuleField) => info.fields.includes(f);
  const set = (field: RuleField) => (value: string) => setDraft((d) => ({ ...d, [field]: value }));
  const view = error && !quotaOf(error) ? describeFormError(error, FIELDS, { fieldOf }) : null;
  const fieldError = (f: string) => view?.fields[f];

  const changeType = (type: FormAlertType) =>
    setDraft((d) => ({
      ...emptyDraft(type, d.symbol),
      price: d.price,
      screen_id: d.screen_id || screens[0]?.id || '',
    }));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (pending) return;
    onSubmit({ name: name.trim() || null, rule: ruleOf(draft), active });
  };

  return (
    <Modal open={open} onOpenChange={onOpenChange} title={alert ? 'Edit alert' : 'New alert'} testId="alert-dialog">
      <form onSubmit={submit} noValidate className="flex flex-col gap-3">
        {error ? (
          quotaOf(error) ? (
            <ErrorAlert title="You have reached your plan's active-alert limit" error={error} />
          ) : (
            <p role="alert" className="rounded-md border border-rose-900/70 bg-rose-950/40 px-3 py-2 text-rose-200" data-testid="alert-error">
              {view?.message}
            </p>
          )
        ) : null}
        <SelectField label="Condition" name="type" value={draft.type} onChange={(e) => changeType(e.target.value as FormAlertType)}>
          {ALERT_TYPES.map((t) => (
            <option key={t} value={t}>
              {RULE_TYPES[t].label}
            </option>
          ))}
        </SelectField>
        {uses('symbol') && (
          <SymbolCombobox
            label="Symbol"
            showLabel
            name="symbol"
            value={draft.symbol}
            onValueChange={set('symbol')}
            onSelect={set('symbol')}
            error={fieldError('symbol')}
            testId="alert-symbol"
            freeTextHint={(sym) => `No matches for “${sym}”.`}
          />
        )}
        {uses('screen_id') &&
          (screens.length === 0 ? (
            <p className="text-amber-300">Save a screen on the screener first: this alert watches one of your saved screens.</p>
          ) : (
            <SelectField label="Saved screen" name="screen_id" value={draft.screen_id} onChange={(e) => set('screen_id')(e.target.value)} error={fieldError('screen_id')}>
              {!draft.screen_id && <option value="">Choose a screen…</option>}
              {screens.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.name}
                </option>
              ))}
            </SelectField>
          ))}
        <div className="grid grid-cols-2 gap-3">
          {uses('price') && (
            <TextField label="Price" name="price" inputMode="decimal" autoComplete="off" value={draft.price} onChange={(e) => set('price')(e.target.value)} error={fieldError('price')} />
          )}
          {uses('threshold_pct') && (
            <TextField
              label="Change (%)"
              name="threshold_pct"
              inputMode="decimal"
              autoComplete="off"
              value={draft.threshold_pct}
              onChange={(e) => set('threshold_pct')(e.target.value)}
              error={fieldError('threshold_pct')}
            />
          )}
          {uses('period') && (
            <SelectField label="Moving average" name="period" value={draft.period} onChange={(e) => set('period')(e.target.value)} error={fieldError('period')}>
              {SMA_PERIODS.map((p) => (
                <option key={p} value={String(p)}>
                  SMA {p}
                </option>
              ))}
            </SelectField>
          )}
          {uses('threshold') && (
            <TextField
              label="RSI level"
              name="threshold"
              inputMode="decimal"
              autoComplete="off"
              value={draft.threshold}
              onChange={(e) => set('threshold')(e.target.value)}
              error={fieldError('threshold')}
            />
          )}
          {uses('multiple') && (
            <TextField
              label="Volume ÷ 20-day average"
              name="multiple"
              inputMode="decimal"
              autoComplete="off"
              value={draft.multiple}
              onChange={(e) => set('multiple')(e.target.value)}
              error={fieldError('multiple')}
            />
          )}
          {uses('direction') && info.directions && (
            <SelectField label="Direction" name="direction" value={draft.direction} onChange={(e) => set('direction')(e.target.value)} error={fieldError('direction')}>
              {info.directions.map((d) => (
                <option key={d.value} value={d.value}>
                  {d.label}
                </option>
              ))}
            </SelectField>
          )}
        </div>
        <TextField label="Name (optional)" name="name" maxLength={80} autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} error={fieldError('name')} />
        <label className="flex items-center gap-2 text-slate-300">
          <input type="checkbox" className="h-4 w-4 accent-sky-500" checked={active} onChange={(e) => setActive(e.target.checked)} />
          Active
        </label>
        <div className="flex justify-end gap-2">
          <DialogClose className="btn-ghost">Cancel</DialogClose>
          <button type="submit" className="btn-primary" disabled={pending} data-testid="alert-submit">
            {pending && <Spinner className="text-white" />}
            {alert ? 'Save' : 'Create alert'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
