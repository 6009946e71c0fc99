// The notification preferences API (GET/PUT /api/me/notification-preferences, POST .../webhook-secret).
// What GET returns is the generated type; what the page PUTs is the writable part of it, named here (the
// generated update schema also lists the read-only webhook fields, which the server ignores).
import type { components } from '@/types/openapi';

/** The delivery channels a user turns on or off (all alerts). */
export type ChannelName = 'in_app' | 'websocket' | 'email' | 'sns' | 'webhook';
/** The channels with a daily cap (the overflow is rolled into one summary message). */
export type CappedChannel = 'email' | 'sns' | 'webhook';

export interface QuietHours {
  /** "HH:MM" in the user's time zone. */
  start: string;
  end: string;
}

/** What PUT takes (GET returns the same, plus the read-only webhook fields below). */
export interface NotificationPreferencesUpdate {
  /** An IANA zone, e.g. "America/New_York". */
  timezone: string;
  quiet_hours: QuietHours | null;
  channels: Record<ChannelName, boolean>;
  daily_caps: Record<CappedChannel, number>;
  /** An E.164 phone number (SMS). */
  sns_target: string | null;
  /** HTTPS; premium only (a free plan's webhook is refused with a 403). */
  webhook_url: string | null;
}

/** GET's answer: the writable fields plus the read-only webhook status, reason and secret hint. */
export type NotificationPreferences = components['schemas']['NotificationPreferencesPublic'];

// The writable part must stay a part of what the server returns (a compile-time check).
export const writableFieldsAreServerFields = (p: NotificationPreferences): NotificationPreferencesUpdate => p;

/** POST /api/me/notification-preferences/webhook-secret: the new secret, shown once. */
export interface WebhookSecret {
  secret: string;
}

/** The alert options with the per-alert cooldown (AlertOptions / AlertOptionsPatch plus `cooldown_minutes`). */
export interface CooldownOption {
  /** Minutes after a firing during which the alert does not fire again. */
  cooldown_minutes?: number | null;
}
