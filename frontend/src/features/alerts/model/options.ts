import type { components } from '@/types/openapi';
import type { CooldownOption } from '../preferences-types';
import type { Alert } from '../api/keys';

export type Trigger = components['schemas']['AlertOptions']['trigger'];
/** The create body's options, with the per-alert cooldown (see preferences-types.ts). */
export type AlertOptionsBody = components['schemas']['AlertOptions'] & CooldownOption;
/** The update body's options: a field left out is kept; `snoozed_until: null` ends a snooze. */
export type AlertOptionsPatchBody = Partial<components['schemas']['AlertOptionsPatch']> & CooldownOption;

export const TRIGGERS: { value: Trigger; label: string; hint: string }[] = [
  { value: 'once', label: 'Only once', hint: 'Fires at the first crossing, then the alert is done.' },
  { value: 'once_per_day', label: 'Once per day', hint: 'Fires at most once a session; re-arms at the next one.' },
  { value: 'once_per_bar_close', label: 'Once per bar close', hint: 'Checked on the daily close only, not on live quotes.' },
  { value: 'every_time', label: 'Every time', hint: 'Fires at every crossing (hysteresis keeps noise out).' },
];

/** Free alerts expire after about two months unless given an expiry (stockscreen.alerts.models.FREE_EXPIRY_DAYS). */
export const DEFAULT_EXPIRY_DAYS = 60;
export const DEFAULT_HYSTERESIS_PCT = 0.2;

/** The options' form text. Dates are the `<input type="date">` value (YYYY-MM-DD, the user's day). */
export interface OptionsDraft {
  trigger: Trigger;
  hysteresis_pct: string;
  /** The last day the alert is evaluated (until the end of that day, local time). */
  expires_on: string;
  /** Premium only: no expiry. */
  open_ended: boolean;
  /** Snoozed through this day (empty: not snoozed). */
  snoozed_through: string;
  /** Minutes after a firing during which it stays quiet (empty: none). */
  cooldown_minutes: string;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** A Date as the user's local YYYY-MM-DD. */
export function localDay(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The end of a local day (YYYY-MM-DD) as an ISO instant with its offset, which the API wants (AwareDatetime). */
export function endOfDay(day: string): string {
  return new Date(`${day}T23:59:59`).toISOString();
}

/** The local day of an ISO instant, for the date inputs (empty for none). */
export function dayOf(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : localDay(d);
}

export function defaultExpiry(now = new Date()): string {
  const d = new Date(now);
  d.setDate(d.getDate() + DEFAULT_EXPIRY_DAYS);
  return localDay(d);
}

/** A new alert's options: the server's defaults (a premium alert is open-ended, as the server makes it). */
export function emptyOptions({ premium = false, now = new Date() }: { premium?: boolean; now?: Date } = {}): OptionsDraft {
  return {
    trigger: 'once_per_day',
    hysteresis_pct: String(DEFAULT_HYSTERESIS_PCT),
    expires_on: defaultExpiry(now),
    open_ended: premium,
    snoozed_through: '',
    cooldown_minutes: '',
  };
}

/** A stored alert's options back into the form. */
export function optionsDraftOf(alert: Alert & CooldownOption): OptionsDraft {
  return {
    trigger: (TRIGGERS.some((t) => t.value === alert.trigger) ? alert.trigger : 'once_per_day') as Trigger,
    hysteresis_pct: String(alert.hysteresis_pct),
    expires_on: dayOf(alert.expires_at),
    open_ended: alert.expires_at === null,
    snoozed_through: dayOf(alert.snoozed_until),
    cooldown_minutes: alert.cooldown_minutes == null ? '' : String(alert.cooldown_minutes),
  };
}

function numberOr<T>(text: string, fallback: T): number | T {
  const t = text.trim();
  if (!t) return fallback;
  const n = Number(t);
  return Number.isFinite(n) ? n : fallback;
}

/**
 * The request's options. `premium`: may be open-ended (a free alert always gets a date: the one chosen, or the
 * server's two months). The cooldown is 0 (none) unless set.
 */
export function optionsOf(draft: OptionsDraft, { premium }: { premium: boolean }): AlertOptionsBody {
  const out: AlertOptionsBody = {
    trigger: draft.trigger,
    hysteresis_pct: numberOr(draft.hysteresis_pct, DEFAULT_HYSTERESIS_PCT),
    expires_at: (premium && draft.open_ended) || !draft.expires_on ? null : endOfDay(draft.expires_on),
    snoozed_until: draft.snoozed_through ? endOfDay(draft.snoozed_through) : null,
    cooldown_minutes: 0, // the server's default: no cooldown
  };
  const cooldown = draft.cooldown_minutes.trim();
  if (cooldown) out.cooldown_minutes = Number.isInteger(Number(cooldown)) ? Number(cooldown) : (cooldown as unknown as number);
  return out;
}

/** What an alert is doing now, most telling first. */
export type AlertStatus = 'completed' | 'expired' | 'paused' | 'snoozed' | 'active';

export function statusOf(alert: Pick<Alert, 'active' | 'completed_at' | 'expires_at' | 'snoozed_until'>, now = Date.now()): AlertStatus {
  if (alert.completed_at) return 'completed';
  if (alert.expires_at && new Date(alert.expires_at).getTime() <= now) return 'expired';
  if (!alert.active) return 'paused';
  if (alert.snoozed_until && new Date(alert.snoozed_until).getTime() > now) return 'snoozed';
  return 'active';
}

export const STATUS_LABELS: Record<AlertStatus, string> = {
  completed: 'Done (fired once)',
  expired: 'Expired',
  paused: 'Paused',
  snoozed: 'Snoozed',
  active: 'Active',
};

/** "Fired 3 times", "Never fired". */
export function firedText(count: number): string {
  return count === 0 ? 'Never fired' : `Fired ${count} time${count === 1 ? '' : 's'}`;
}
