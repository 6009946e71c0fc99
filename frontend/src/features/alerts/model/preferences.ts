import type { CappedChannel, ChannelName, NotificationPreferences, NotificationPreferencesUpdate } from '../preferences-types';

export const CHANNELS: { name: ChannelName; label: string; hint: string }[] = [
  { name: 'in_app', label: 'In-app', hint: 'The bell and the notifications page.' },
  { name: 'websocket', label: 'Live in the browser', hint: 'A toast in every open Stockscreen tab.' },
  { name: 'email', label: 'Email', hint: 'To your account address, with a one-click unsubscribe.' },
  { name: 'sns', label: 'SMS', hint: 'A phone number in E.164 form, e.g. +15551234567.' },
  { name: 'webhook', label: 'Webhook', hint: 'An HTTPS POST of JSON, signed with HMAC (premium).' },
];

export const CAPPED: CappedChannel[] = ['email', 'sns', 'webhook'];

/** The form's text. */
export interface PreferencesDraft {
  timezone: string;
  quiet: boolean;
  start: string;
  end: string;
  channels: Record<ChannelName, boolean>;
  caps: Record<CappedChannel, string>;
  sns_target: string;
  webhook_url: string;
}

export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** Every IANA zone the browser knows (for the picker's suggestions). */
export function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (key: string) => string[] };
  try {
    return intl.supportedValuesOf?.('timeZone') ?? [];
  } catch {
    return [];
  }
}

export function preferencesDraftOf(p: NotificationPreferences): PreferencesDraft {
  return {
    timezone: p.timezone,
    quiet: p.quiet_hours !== null,
    start: p.quiet_hours?.start ?? '22:00',
    end: p.quiet_hours?.end ?? '07:00',
    channels: { ...p.channels },
    caps: { email: String(p.daily_caps.email), sns: String(p.daily_caps.sns), webhook: String(p.daily_caps.webhook) },
    sns_target: p.sns_target ?? '',
    webhook_url: p.webhook_url ?? '',
  };
}

function cap(text: string): number {
  const t = text.trim();
  // not a number: sent as NaN -> null by JSON, which the API refuses on the field
  return t === '' ? Number.NaN : Number(t);
}

/** The PUT body: every writable field (the read-only webhook status, reason and hint are not sent). */
export function preferencesBody(d: PreferencesDraft): NotificationPreferencesUpdate {
  return {
    timezone: d.timezone.trim(),
    quiet_hours: d.quiet ? { start: d.start, end: d.end } : null,
    channels: { ...d.channels },
    daily_caps: { email: cap(d.caps.email), sns: cap(d.caps.sns), webhook: cap(d.caps.webhook) },
    sns_target: d.sns_target.trim() || null,
    webhook_url: d.webhook_url.trim() || null,
  };
}

/** The form's field for a validation detail's location (`daily_caps.email`, `quiet_hours.start`, `channels.webhook`). */
export function preferenceField(loc: string): string | undefined {
  const parts = loc.split('.');
  const after = (name: string) => (parts.includes(name) ? (parts[parts.indexOf(name) + 1] ?? '') : null);
  const capped = after('daily_caps');
  if (capped) return `cap_${capped}`;
  const quiet = after('quiet_hours');
  if (quiet !== null) return quiet === 'end' ? 'end' : 'start';
  return undefined;
}

export const PREFERENCE_FIELDS = ['timezone', 'start', 'end', 'channels', 'cap_email', 'cap_sns', 'cap_webhook', 'sns_target', 'webhook_url'] as const;
