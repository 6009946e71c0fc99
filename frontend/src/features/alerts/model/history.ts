import { formatNumber } from '@/lib/format';
import type { AlertEvent } from '../api/keys';
import type { ChannelName } from '../preferences-types';
import { describeRule } from './rules';

/** One clause of a firing's explanation: what was checked, the value seen, what it was checked against. */
export interface ExplainedClause {
  clause: string;
  value: string;
  threshold: string;
  passed: boolean;
}

function fmt(v: unknown): string {
  if (typeof v === 'number') return formatNumber(v, Math.abs(v) >= 1000 ? 0 : 2);
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(fmt).join(' – ');
  return '—';
}

const FIELD_LABELS: Record<string, string> = { close: 'price', price: 'price' };
const fieldName = (f: unknown) => (typeof f === 'string' ? (FIELD_LABELS[f] ?? f) : 'price');

/** The comparison a rule type makes at the moment it fires. */
function comparison(type: string, rule: Record<string, unknown>, leg: unknown, rising: boolean | null): string {
  switch (type) {
    case 'price_above':
      return 'price >';
    case 'price_below':
      return 'price <';
    case 'crossing':
      return `${fieldName(rule.field)} crossed${rising === null ? '' : rising ? ' above' : ' below'}`;
    case 'crossing_up':
      return `${fieldName(rule.field)} crossed above`;
    case 'crossing_down':
      return `${fieldName(rule.field)} crossed below`;
    case 'channel_enter':
      return `${fieldName(rule.field)} entered`;
    case 'channel_exit':
      return `${fieldName(rule.field)} left`;
    case 'crosses_sma':
      return `price crossed ${rule.direction === 'below' ? 'below' : 'above'} SMA ${fmt(rule.period)}`;
    case 'rsi':
      return `RSI (14) ${rule.direction === 'below' ? '<' : '>'}`;
    case 'change_pct':
      return 'daily change % beyond';
    case 'volume_spike':
      return 'volume ≥ 20-day average ×';
    case 'move_up_pct':
      return `move over ${fmt(rule.bars)} sessions (%) ≥`;
    case 'move_down_pct':
      return `move over ${fmt(rule.bars)} sessions (%) ≤ −`;
    default:
      return typeof leg === 'string' ? leg : 'condition';
  }
}

/**
 * A firing explained clause by clause, from what the evaluation stored (`AlertEventPublic`): the screener's
 * own explanation when the event carries one (`details.clauses`, the `/screens/explain` shape), the query of a
 * query alert, the entrants and leavers of a screen alert, or the value against the level.
 */
export function explainFiring(event: AlertEvent): ExplainedClause[] {
  const d = event.details;
  const rule = (typeof d.rule === 'object' && d.rule !== null ? d.rule : {}) as Record<string, unknown>;
  const type = typeof d.type === 'string' ? d.type : String(rule.type ?? '');
  if (Array.isArray(d.clauses)) {
    return (d.clauses as Record<string, unknown>[]).map((c) => ({
      clause: String(c.clause ?? ''),
      value: fmt(c.value),
      threshold: fmt(c.threshold_value ?? c.threshold),
      passed: Boolean(c.pass ?? c.passed),
    }));
  }
  if (type === 'screen_enter' || type === 'screen_leave') {
    const out: ExplainedClause[] = [];
    const screen = typeof d.screen === 'string' ? `“${d.screen}”` : 'the screen';
    if (Array.isArray(d.entrants) && d.entrants.length) out.push({ clause: `entered ${screen}`, value: (d.entrants as string[]).join(', '), threshold: '', passed: type === 'screen_enter' });
    if (Array.isArray(d.leavers) && d.leavers.length) out.push({ clause: `left ${screen}`, value: (d.leavers as string[]).join(', '), threshold: '', passed: type === 'screen_leave' });
    return out;
  }
  if (typeof d.query === 'string') return [{ clause: d.query, value: 'true', threshold: 'true', passed: true }];
  if (event.value === null && event.level === null) return [];
  const threshold = typeof d.upper === 'number' && event.level !== null ? `${fmt(event.level)} – ${fmt(d.upper)}` : fmt(event.level);
  const rising = event.value !== null && event.level !== null ? event.value > event.level : null;
  return [{ clause: comparison(type, rule, d.leg, rising), value: fmt(event.value), threshold, passed: true }];
}

/** When the firing was evaluated: a live quote, or the daily close of a date. */
export function firingSource(event: AlertEvent): string {
  const asOf = typeof event.details.as_of === 'string' ? event.details.as_of : null;
  if (event.source === 'daily' || asOf) return `Daily close${asOf ? ` of ${asOf}` : ''}`;
  if (event.source === 'live') return 'Live quote';
  return event.source;
}

/** What the rule was when it fired (the event keeps a copy). */
export function firedRule(event: AlertEvent): string | null {
  const rule = event.details.rule;
  return typeof rule === 'object' && rule !== null ? describeRule({ type: event.details.type, ...(rule as Record<string, unknown>) }) : null;
}

export const CHANNEL_LABELS: Record<ChannelName, string> = {
  in_app: 'In-app',
  websocket: 'Live (browser)',
  email: 'Email',
  sns: 'SMS / SNS',
  webhook: 'Webhook',
};

export type DeliveryTone = 'ok' | 'off' | 'failed' | 'pending' | 'held';

export interface ChannelDelivery {
  channel: string;
  label: string;
  status: string;
  tone: DeliveryTone;
}

function toneOf(status: string): DeliveryTone {
  if (status.startsWith('failed')) return 'failed';
  if (status === 'off' || status === 'suppressed' || status === 'no address' || status === 'no open session' || status.startsWith('skipped')) return 'off';
  if (status.startsWith('held') || status.includes('quiet') || status.includes('capped') || status.includes('cooldown')) return 'held';
  if (status.startsWith('sent') || status === 'delivered') return 'ok';
  return 'pending';
}

/** Each channel's delivery status (`delivery` holds them by channel, plus `queued_at`); empty while queued. */
export function deliveriesOf(event: AlertEvent): ChannelDelivery[] {
  return Object.entries(event.delivery)
    .filter(([k]) => k !== 'queued_at')
    .map(([channel, v]) => {
      const status = typeof v === 'string' ? v : typeof v === 'object' && v !== null && 'status' in v ? String((v as { status: unknown }).status) : JSON.stringify(v);
      return { channel, label: CHANNEL_LABELS[channel as ChannelName] ?? channel, status, tone: toneOf(status) };
    });
}
