import { useEffect, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { CardHeader } from '@/components/ui/card-header';
import { ErrorAlert } from '@/components/ui/error-alert';
import { Spinner } from '@/components/ui/spinner';
import { TextField } from '@/components/ui/text-field';
import { ApiError } from '@/lib/api-client';
import { cn } from '@/lib/cn';
import { describeFormError } from '@/lib/form-errors';
import { usePreferences, useRotateWebhookSecret, useSavePreferences } from '../api/preferences';
import {
  browserTimeZone,
  CAPPED,
  CHANNELS,
  PREFERENCE_FIELDS,
  preferenceField,
  preferencesBody,
  preferencesDraftOf,
  timeZones,
  type PreferencesDraft,
} from '../model/preferences';
import type { NotificationPreferences } from '../preferences-types';
import { CHANNEL_LABELS } from '../model/history';
import { NumberField } from './number-field';

/** A premium-only refusal (the webhook channel on the free plan). */
function isUpgradeRefusal(error: unknown): boolean {
  return error instanceof ApiError && error.status === 403;
}

function UpgradeNote() {
  return (
    <p className="rounded-md border border-amber-800/70 bg-amber-950/30 px-3 py-2 text-xs text-amber-200" data-testid="webhook-upgrade">
      Webhooks are a premium feature: upgrade to have every alert posted to your own HTTPS endpoint, signed with HMAC.
    </p>
  );
}

function WebhookStatus({ prefs }: { prefs: NotificationPreferences }) {
  if (prefs.webhook_status === 'none') return null;
  return (
    <p className={cn('text-xs', prefs.webhook_status === 'disabled' ? 'text-rose-300' : 'text-emerald-300')} data-testid="webhook-status">
      {prefs.webhook_status === 'disabled'
        ? `Disabled after repeated failures${prefs.webhook_disabled_reason ? `: ${prefs.webhook_disabled_reason}` : ''}. Save the URL again to re-enable it.`
        : 'Active.'}
      {prefs.webhook_secret_hint && ' '}
      {prefs.webhook_secret_hint && <span className="text-slate-400">Signing secret ends in …{prefs.webhook_secret_hint}.</span>}
    </p>
  );
}

/** A new signing secret, shown once (the server keeps only a hint). */
function WebhookSecretPanel() {
  const rotate = useRotateWebhookSecret();
  const [copied, setCopied] = useState(false);
  return (
    <div className="flex flex-col gap-2">
      <button
        type="button"
        className="btn-secondary h-8 self-start px-2.5 text-xs"
        disabled={rotate.isPending}
        onClick={() => {
          setCopied(false);
          rotate.mutate();
        }}
        data-testid="rotate-secret"
      >
        {rotate.isPending && <Spinner />}
        Generate a new signing secret
      </button>
      {rotate.isError && (isUpgradeRefusal(rotate.error) ? <UpgradeNote /> : <ErrorAlert title="Could not generate a secret" error={rotate.error} />)}
      {rotate.data && (
        <div className="flex flex-col gap-1 rounded-md border border-sky-800 bg-sky-950/30 px-3 py-2" role="status">
          <p className="text-xs text-sky-200">Copy it now: it is shown only once. The previous secret no longer verifies.</p>
          <div className="flex items-center gap-2">
            <code className="min-w-0 flex-1 break-all font-mono text-xs text-slate-100" data-testid="webhook-secret">
              {rotate.data.secret}
            </code>
            <button
              type="button"
              className="btn-ghost h-7 px-2 text-xs"
              onClick={() => void navigator.clipboard?.writeText(rotate.data.secret).then(() => setCopied(true))}
            >
              {copied ? 'Copied' : 'Copy'}
            </button>
          </div>
        </div>
      )}
    </div>
  );
}

function PreferencesForm({ prefs, premium }: { prefs: NotificationPreferences; premium: boolean }) {
  const save = useSavePreferences();
  const [draft, setDraft] = useState<PreferencesDraft>(() => preferencesDraftOf(prefs));
  const [zones] = useState(timeZones);
  useEffect(() => setDraft(preferencesDraftOf(prefs)), [prefs]);
  const upgrade = isUpgradeRefusal(save.error);
  const view = save.error && !upgrade ? describeFormError(save.error, PREFERENCE_FIELDS, { locate: ({ loc }) => preferenceField(loc) }) : null;
  const fieldError = (f: string) => view?.fields[f];
  const set = <K extends keyof PreferencesDraft>(key: K, value: PreferencesDraft[K]) => {
    save.reset();
    setDraft((d) => ({ ...d, [key]: value }));
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!save.isPending) save.mutate(preferencesBody(draft));
  };

  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-4 p-3" aria-label="Notification preferences">
      {view && (
        <p role="alert" className="rounded-md border border-rose-900/70 bg-rose-950/40 px-3 py-2 text-rose-200" data-testid="preferences-error">
          {view.message}
        </p>
      )}
      {upgrade && <UpgradeNote />}
      {save.isSuccess && (
        <p role="status" className="text-emerald-300" data-testid="preferences-saved">
          Saved.
        </p>
      )}

      <fieldset className="flex flex-col gap-2" aria-describedby={fieldError('channels') ? 'channels-error' : undefined}>
        <legend className="mb-1 text-sm font-semibold text-slate-100">Channels</legend>
        {CHANNELS.map((c) => {
          const locked = c.name === 'webhook' && !premium;
          return (
            <label key={c.name} className={cn('flex items-start gap-2', locked ? 'text-slate-500' : 'text-slate-200')}>
              <input
                type="checkbox"
                className="mt-0.5 h-4 w-4 accent-sky-500"
                name={`channel_${c.name}`}
                checked={draft.channels[c.name]}
                disabled={locked}
                onChange={(e) => set('channels', { ...draft.channels, [c.name]: e.target.checked })}
              />
              <span>
                {c.label}
                <span className="block text-xs text-slate-500">{c.hint}</span>
              </span>
            </label>
          );
        })}
        {fieldError('channels') && (
          <p id="channels-error" className="text-xs text-rose-300">
            {fieldError('channels')}
          </p>
        )}
        {!premium && <UpgradeNote />}
      </fieldset>

      <fieldset className="grid grid-cols-1 gap-3 sm:grid-cols-3">
        <legend className="mb-1 text-sm font-semibold text-slate-100">Quiet hours</legend>
        <div className="flex flex-col gap-1 sm:col-span-3">
          <TextField
            label="Time zone"
            name="timezone"
            list="alert-time-zones"
            autoComplete="off"
            value={draft.timezone}
            onChange={(e) => set('timezone', e.target.value)}
            error={fieldError('timezone')}
            hint="Quiet hours and daily caps follow this zone."
          />
          <datalist id="alert-time-zones">
            {zones.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
          <button type="button" className="btn-ghost h-7 self-start px-2 text-xs" onClick={() => set('timezone', browserTimeZone())}>
            Use this browser’s zone ({browserTimeZone()})
          </button>
        </div>
        <label className="flex items-center gap-2 text-slate-200 sm:col-span-3">
          <input type="checkbox" name="quiet" className="h-4 w-4 accent-sky-500" checked={draft.quiet} onChange={(e) => set('quiet', e.target.checked)} />
          Hold email, SMS and webhook messages during quiet hours (they are sent when the quiet hours end)
        </label>
        <TextField label="From" name="start" type="time" value={draft.start} disabled={!draft.quiet} onChange={(e) => set('start', e.target.value)} error={fieldError('start')} />
        <TextField label="Until" name="end" type="time" value={draft.end} disabled={!draft.quiet} onChange={(e) => set('end', e.target.value)} error={fieldError('end')} />
      </fieldset>

      <fieldset className="grid grid-cols-1 gap-3 sm:grid-cols-3">
        <legend className="mb-1 text-sm font-semibold text-slate-100">Daily caps</legend>
        {CAPPED.map((c) => (
          <NumberField
            key={c}
            label={`${CHANNEL_LABELS[c]} per day`}
            name={`cap_${c}`}
            integer
            value={draft.caps[c]}
            onValue={(v) => set('caps', { ...draft.caps, [c]: v })}
            error={fieldError(`cap_${c}`)}
          />
        ))}
        <p className="text-xs text-slate-500 sm:col-span-3">Past the cap, the rest of the day’s alerts come as one summary message.</p>
      </fieldset>

      <fieldset className="flex flex-col gap-3">
        <legend className="mb-1 text-sm font-semibold text-slate-100">Destinations</legend>
        <TextField
          label="SMS number"
          name="sns_target"
          autoComplete="off"
          placeholder="+15551234567"
          value={draft.sns_target}
          onChange={(e) => set('sns_target', e.target.value)}
          error={fieldError('sns_target')}
        />
        <TextField
          label="Webhook URL"
          name="webhook_url"
          type="url"
          autoComplete="off"
          placeholder="https://example.com/hooks/stockscreen"
          disabled={!premium}
          value={draft.webhook_url}
          onChange={(e) => set('webhook_url', e.target.value)}
          error={fieldError('webhook_url')}
        />
        <WebhookStatus prefs={prefs} />
        {premium && prefs.webhook_url && <WebhookSecretPanel />}
      </fieldset>

      <div className="flex justify-end">
        <button type="submit" className="btn-primary" disabled={save.isPending} data-testid="preferences-submit">
          {save.isPending && <Spinner className="text-white" />}
          Save preferences
        </button>
      </div>
    </form>
  );
}

/** Notification preferences: channels, quiet hours in the user's zone, daily caps, SMS/SNS and webhook targets. */
export function PreferencesPage({ premium }: { premium: boolean }) {
  const prefs = usePreferences();
  return (
    <section className="card flex flex-col" aria-labelledby="preferences-heading" data-testid="notification-preferences">
      <CardHeader id="preferences-heading" level={1} title="Notification preferences">
        {prefs.isFetching && <Spinner />}
        <Link to="/alerts" className="ml-auto text-xs text-sky-400 hover:underline">
          Back to alerts
        </Link>
      </CardHeader>
      {prefs.isPending && (
        <p className="flex items-center gap-2 p-6 text-slate-400">
          <Spinner /> Loading your preferences…
        </p>
      )}
      {prefs.isError && (
        <div className="p-3">
          <ErrorAlert title="Could not load your preferences" error={prefs.error} onRetry={() => void prefs.refetch()} />
        </div>
      )}
      {prefs.data && <PreferencesForm prefs={prefs.data} premium={premium} />}
    </section>
  );
}
