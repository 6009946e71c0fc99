import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { useFields } from '@/api/get-fields';
import { SymbolCombobox } from '@/components/symbol-combobox';
import { DialogClose, Modal } from '@/components/ui/dialog';
import { ErrorAlert } from '@/components/ui/error-alert';
import { SelectField } from '@/components/ui/select-field';
import { Spinner } from '@/components/ui/spinner';
import { TextField } from '@/components/ui/text-field';
import { useLiveQuote } from '@/features/live/use-live-quote';
import type { ApiError } from '@/lib/api-client';
import { formatPrice } from '@/lib/format';
import { describeFormError } from '@/lib/form-errors';
import { quotaOf } from '@/lib/quota';
import type { Alert, AlertRule } from '../api/keys';
import { emptyOptions, optionsDraftOf, optionsOf, TRIGGERS, type AlertOptionsBody, type OptionsDraft, type Trigger } from '../model/options';
import { isQueryError } from '../model/query-error';
import {
  draftOf,
  emptyDraft,
  RULE_TYPES,
  ruleOf,
  SCOPES,
  SMA_PERIODS,
  typesFor,
  withScope,
  withType,
  type FormAlertType,
  type RuleDraft,
  type RuleField,
  type Scope,
} from '../model/rules';
import { NumberField } from './number-field';
import { QueryEditor } from './query-editor';

/** The form's field names, as the API's validation details name them (`rule.crossing.level`, `options.expires_at`). */
const FIELDS = [
  'name',
  'symbol',
  'watchlist_id',
  'screen_id',
  'price',
  'threshold_pct',
  'direction',
  'period',
  'threshold',
  'multiple',
  'field',
  'level',
  'other',
  'lower',
  'upper',
  'pct',
  'bars',
  'query',
  'trigger',
  'hysteresis_pct',
  'expires_at',
  'snoozed_until',
  'cooldown_minutes',
] as const;

export interface ScreenOption {
  id: string;
  name: string;
}

export interface AlertValues {
  name: string | null;
  rule: AlertRule;
  active: boolean;
  options: AlertOptionsBody;
}

/** A refusal that is not a validation error: an unknown symbol, a bad query, a watchlist or screen not found. */
function fieldOf(error: ApiError): string | undefined {
  const d = error.details as Record<string, unknown> | null | undefined;
  if (d && typeof d === 'object' && 'symbol' in d) return 'symbol';
  if (isQueryError(error)) return 'query';
  if (/watchlist/i.test(error.message)) return 'watchlist_id';
  if (/screen/i.test(error.message)) return 'screen_id';
  return undefined;
}

/** A model-level rule ("'lower' must be below 'upper'", "give exactly one of 'level' ...") names its field in quotes. */
function locate({ msg }: { msg: string }): string | undefined {
  const quoted = /'([a-z_]+)'/.exec(msg)?.[1];
  return quoted && (FIELDS as readonly string[]).includes(quoted) ? quoted : undefined;
}

/** The last price of the symbol, live, so a level can be set near it. */
function LastPrice({ symbol }: { symbol: string }) {
  const { quote } = useLiveQuote(symbol);
  if (!quote) return null;
  return (
    <p className="text-xs text-slate-400">
      Last {symbol}:{' '}
      <span className="tabular text-slate-200" data-testid="alert-last-price" data-price={quote.price}>
        {formatPrice(quote.price)}
      </span>
    </p>
  );
}

/** The numeric fields a crossing or channel can compare (the screener's catalogue, `close` first). */
function useNumericFields(): { id: string; label: string }[] {
  const fields = useFields();
  return useMemo(() => {
    const numeric = (fields.data?.data ?? []).filter((f) => f.type === 'number').map((f) => ({ id: f.id, label: f.label }));
    const base = [
      { id: 'close', label: 'Price (close)' },
      { id: 'sma50', label: 'SMA 50' },
      { id: 'sma200', label: 'SMA 200' },
      { id: 'rsi14', label: 'RSI (14)' },
      { id: 'volume', label: 'Volume' },
    ];
    const seen = new Set(base.map((b) => b.id));
    return [...base, ...numeric.filter((f) => !seen.has(f.id))];
  }, [fields.data]);
}

/** Create or edit an alert: who it watches, the condition, when it fires; the API's refusals on their fields. */
export function AlertDialog({
  open,
  onOpenChange,
  alert,
  initialSymbol,
  screens,
  watchlists,
  premium,
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
  watchlists: ScreenOption[];
  /** Premium alerts may be open-ended. */
  premium: boolean;
  pending: boolean;
  error: unknown;
  onSubmit: (values: AlertValues) => void;
}) {
  const [draft, setDraft] = useState<RuleDraft>(() => emptyDraft());
  const [options, setOptions] = useState<OptionsDraft>(() => emptyOptions());
  const [name, setName] = useState('');
  const [active, setActive] = useState(true);
  const numericFields = useNumericFields();

  useEffect(() => {
    if (!open) return;
    setDraft(alert ? draftOf(alert.rule) : emptyDraft('price_above', initialSymbol ?? ''));
    setOptions(alert ? optionsDraftOf(alert) : emptyOptions({ premium }));
    setName(alert?.name ?? '');
    setActive(alert?.active ?? true);
  }, [open, alert, initialSymbol, premium]);

  const info = RULE_TYPES[draft.type];
  const uses = (f: RuleField) => (info.fields as RuleField[]).includes(f);
  const set = (field: RuleField) => (value: string) => setDraft((d) => ({ ...d, [field]: value }));
  const setOpt = <K extends keyof OptionsDraft>(key: K, value: OptionsDraft[K]) => setOptions((o) => ({ ...o, [key]: value }));
  const view = error && !quotaOf(error) ? describeFormError(error, FIELDS, { fieldOf, locate }) : null;
  const fieldError = (f: string) => view?.fields[f];
  const groups = [...new Set(typesFor(draft.scope).map((t) => RULE_TYPES[t].group))];

  const changeScope = (scope: Scope) =>
    setDraft((d) => {
      const next = withScope(d, scope);
      if (scope === 'watchlist' && !next.watchlist_id) next.watchlist_id = watchlists[0]?.id ?? '';
      if (scope === 'screen' && !next.screen_id) next.screen_id = screens[0]?.id ?? '';
      return next;
    });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (pending) return;
    onSubmit({ name: name.trim() || null, rule: ruleOf(draft), active, options: optionsOf(options, { premium }) });
  };

  const numberField = (field: RuleField, label: string) => (
    <NumberField label={label} name={field} value={draft[field]} onValue={set(field)} error={fieldError(field)} />
  );
  const fieldPicker = (field: 'field' | 'other', label: string) => (
    <SelectField label={label} name={field} value={draft[field]} onChange={(e) => set(field)(e.target.value)} error={fieldError(field)}>
      {numericFields.map((f) => (
        <option key={f.id} value={f.id}>
          {f.label}
        </option>
      ))}
    </SelectField>
  );

  return (
    <Modal open={open} onOpenChange={onOpenChange} title={alert ? 'Edit alert' : 'New alert'} testId="alert-dialog" wide>
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
        <SelectField label="Watch" name="scope" value={draft.scope} onChange={(e) => changeScope(e.target.value as Scope)}>
          {SCOPES.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </SelectField>
        {draft.scope === 'symbol' && (
          <>
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
            {/^[A-Z0-9.-]{1,16}$/.test(draft.symbol.trim().toUpperCase()) && <LastPrice symbol={draft.symbol.trim().toUpperCase()} />}
          </>
        )}
        {draft.scope === 'watchlist' &&
          (watchlists.length === 0 ? (
            <p className="text-amber-300">Create a watchlist first: this alert watches every stock of one of your lists.</p>
          ) : (
            <SelectField
              label="Watchlist"
              name="watchlist_id"
              value={draft.watchlist_id}
              onChange={(e) => set('watchlist_id')(e.target.value)}
              error={fieldError('watchlist_id')}
              hint="The alert follows the list as you add and remove stocks."
            >
              {!draft.watchlist_id && <option value="">Choose a watchlist…</option>}
              {watchlists.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name}
                </option>
              ))}
            </SelectField>
          ))}
        {draft.scope === 'screen' &&
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
        <SelectField label="Condition" name="type" value={draft.type} onChange={(e) => setDraft((d) => withType(d, e.target.value as FormAlertType))}>
          {groups.map((g) => (
            <optgroup key={g} label={g}>
              {typesFor(draft.scope)
                .filter((t) => RULE_TYPES[t].group === g)
                .map((t) => (
                  <option key={t} value={t}>
                    {RULE_TYPES[t].label}
                  </option>
                ))}
            </optgroup>
          ))}
        </SelectField>
        {uses('query') && <QueryEditor value={draft.query} onChange={set('query')} serverError={fieldError('query')} />}
        <div className="grid grid-cols-2 gap-3 empty:hidden sm:grid-cols-3">
          {uses('field') && fieldPicker('field', 'Field')}
          {uses('level') && (
            <SelectField label="Against" name="against" value={draft.against} onChange={(e) => setDraft((d) => ({ ...d, against: e.target.value as RuleDraft['against'] }))}>
              <option value="level">A value</option>
              <option value="other">Another field</option>
            </SelectField>
          )}
          {uses('level') && draft.against === 'level' && numberField('level', 'Value')}
          {uses('other') && draft.against === 'other' && fieldPicker('other', 'Other field')}
          {uses('price') && numberField('price', 'Price')}
          {uses('lower') && numberField('lower', 'Lower bound')}
          {uses('upper') && numberField('upper', 'Upper bound')}
          {uses('pct') && numberField('pct', 'Move (%)')}
          {uses('bars') && numberField('bars', 'Within (sessions)')}
          {uses('threshold_pct') && numberField('threshold_pct', 'Change (%)')}
          {uses('period') && (
            <SelectField label="Moving average" name="period" value={draft.period} onChange={(e) => set('period')(e.target.value)} error={fieldError('period')}>
              {SMA_PERIODS.map((p) => (
                <option key={p} value={String(p)}>
                  SMA {p}
                </option>
              ))}
            </SelectField>
          )}
          {uses('threshold') && numberField('threshold', 'RSI level')}
          {uses('multiple') && numberField('multiple', 'Volume ÷ 20-day average')}
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
        <fieldset className="grid grid-cols-2 gap-3 rounded-md border border-slate-800 p-3 sm:grid-cols-3" data-testid="alert-options">
          <legend className="px-1 text-xs font-medium text-slate-300">When it fires</legend>
          <SelectField
            label="Trigger"
            name="trigger"
            value={options.trigger}
            onChange={(e) => setOpt('trigger', e.target.value as Trigger)}
            error={fieldError('trigger')}
            hint={TRIGGERS.find((t) => t.value === options.trigger)?.hint}
          >
            {TRIGGERS.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </SelectField>
          <NumberField
            label="Hysteresis (%)"
            name="hysteresis_pct"
            value={options.hysteresis_pct}
            onValue={(v) => setOpt('hysteresis_pct', v)}
            error={fieldError('hysteresis_pct')}
            hint="How far back past the level before it re-arms."
          />
          <div className="flex flex-col gap-1">
            <TextField
              label="Expires on"
              name="expires_on"
              type="date"
              value={premium && options.open_ended ? '' : options.expires_on}
              disabled={premium && options.open_ended}
              onChange={(e) => setOpt('expires_on', e.target.value)}
              error={fieldError('expires_at')}
            />
            {premium ? (
              <label className="flex items-center gap-2 text-xs text-slate-300">
                <input type="checkbox" className="h-4 w-4 accent-sky-500" checked={options.open_ended} onChange={(e) => setOpt('open_ended', e.target.checked)} />
                Never expires
              </label>
            ) : (
              <p className="text-xs text-slate-500">Open-ended alerts are a premium feature.</p>
            )}
          </div>
          <TextField
            label="Snooze through"
            name="snoozed_through"
            type="date"
            value={options.snoozed_through}
            onChange={(e) => setOpt('snoozed_through', e.target.value)}
            error={fieldError('snoozed_until')}
            hint="Evaluated but silent until then."
          />
          <NumberField
            label="Cooldown (minutes)"
            name="cooldown_minutes"
            integer
            value={options.cooldown_minutes}
            onValue={(v) => setOpt('cooldown_minutes', v)}
            error={fieldError('cooldown_minutes')}
            hint="Quiet for this long after it fires (optional)."
          />
          <label className="flex items-center gap-2 self-end pb-2 text-slate-300">
            <input type="checkbox" name="active" className="h-4 w-4 accent-sky-500" checked={active} onChange={(e) => setActive(e.target.checked)} />
            Active (untick to pause)
          </label>
          <p className="col-span-full text-xs text-slate-500">
            Delivered on the channels of your{' '}
            <Link to="/alerts/preferences" className="text-sky-400 hover:underline">
              notification preferences
            </Link>{' '}
            (in-app, live, email, SMS/SNS, webhook), outside your quiet hours.
          </p>
        </fieldset>
        <TextField label="Name (optional)" name="name" maxLength={80} autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} error={fieldError('name')} />
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
