// The notification preferences API (GET/PUT /api/me/notification-preferences, POST .../webhook-secret) and the
// per-alert `cooldown_minutes` option are being added on the alerts-backend branch. They are not in
// src/types/openapi.ts on this branch, so their types are written out here, once, by hand.
// TODO(merge): replace these with components['schemas'][...] from the generated types and delete this file.

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
  /** An SNS topic ARN or an E.164 phone number. */
  sns_target: string | null;
  /** HTTPS; premium only (a free plan's webhook is refused with a 403). */
  webhook_url: string | null;
}

export interface NotificationPreferences extends NotificationPreferencesUpdate {
  /** Read-only: "disabled" after repeated failures (see `webhook_disabled_reason`). */
  webhook_status: 'active' | 'disabled' | 'none';
  webhook_disabled_reason: string | null;
  /** Read-only: the last characters of the signing secret. */
  webhook_secret_hint: string | null;
}

/** POST /api/me/notification-preferences/webhook-secret: the new secret, shown once. */
export interface WebhookSecret {
  secret: string;
}

/** The alert options with the per-alert cooldown (AlertOptions / AlertOptionsPatch plus `cooldown_minutes`). */
export interface CooldownOption {
  /** Minutes after a firing during which the alert does not fire again. */
  cooldown_minutes?: number | null;
}
