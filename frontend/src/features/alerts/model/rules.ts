import { formatPrice } from '@/lib/format';
import type { AlertRule, AlertType } from '../api/keys';

/** The form's fields; a rule type uses some of them (stockscreen.alert_rules has the models). */
export type RuleField = 'symbol' | 'price' | 'threshold_pct' | 'direction' | 'period' | 'threshold' | 'multiple' | 'screen_id';

export interface RuleTypeInfo {
  label: string;
  fields: RuleField[];
  /** The direction choices, when the type has one. */
  directions?: { value: string; label: string }[];
}

const ABOVE_BELOW = [
  { value: 'above', label: 'Above' },
  { value: 'below', label: 'Below' },
];

/**
 * The rule types this form builds. The API knows more (crossings, channels, moves, query-language
 * alerts): those are listed and described, and edited through the API until the form has them.
 */
export type FormAlertType = Extract<
  AlertType,
  'price_above' | 'price_below' | 'change_pct' | 'crosses_sma' | 'rsi' | 'volume_spike' | 'high_52w' | 'low_52w' | 'screen_enter' | 'screen_leave'
>;

export const RULE_TYPES: Record<FormAlertType, RuleTypeInfo> = {
  price_above: { label: 'Price rises above', fields: ['symbol', 'price'] },
  price_below: { label: 'Price falls below', fields: ['symbol', 'price'] },
  change_pct: {
    label: 'Daily change of at least',
    fields: ['symbol', 'threshold_pct', 'direction'],
    directions: [
      { value: 'either', label: 'Up or down' },
      { value: 'up', label: 'Up' },
      { value: 'down', label: 'Down' },
    ],
  },
  crosses_sma: { label: 'Price crosses a moving average', fields: ['symbol', 'period', 'direction'], directions: ABOVE_BELOW },
  rsi: { label: 'RSI (14) crosses a level', fields: ['symbol', 'threshold', 'direction'], directions: ABOVE_BELOW },
  volume_spike: { label: 'Volume spike', fields: ['symbol', 'multiple'] },
  high_52w: { label: 'New 52-week high', fields: ['symbol'] },
  low_52w: { label: 'New 52-week low', fields: ['symbol'] },
  screen_enter: { label: 'Enters a saved screen', fields: ['screen_id'] },
  screen_leave: { label: 'Leaves a saved screen', fields: ['screen_id'] },
};

export const ALERT_TYPES = Object.keys(RULE_TYPES) as FormAlertType[];
export const SMA_PERIODS = [20, 50, 200] as const;

/** The form's text for each field. */
export type RuleDraft = { type: FormAlertType } & Record<RuleField, string>;

export function emptyDraft(type: FormAlertType = 'price_above', symbol = ''): RuleDraft {
  return { type, symbol, price: '', threshold_pct: '', direction: RULE_TYPES[type].directions?.[0]?.value ?? '', period: '50', threshold: '', multiple: '2', screen_id: '' };
}

/** A stored rule (`AlertPublic.rule`, loosely typed by the API) back into the form. */
export function draftOf(rule: Record<string, unknown>): RuleDraft {
  const type = (ALERT_TYPES as string[]).includes(String(rule.type)) ? (rule.type as FormAlertType) : 'price_above';
  const draft = emptyDraft(type);
  for (const field of RULE_TYPES[type].fields) {
    const value = rule[field];
    if (value !== undefined && value !== null) draft[field] = String(value);
  }
  return draft;
}

/** A number when the text is one; otherwise the text itself (or nothing), for the API to refuse in its words. */
function num(text: string): number | string | undefined {
  const t = text.trim();
  if (!t) return undefined;
  const n = Number(t.replace(/,/g, ''));
  return Number.isFinite(n) ? n : t;
}

/** The request body's rule for a draft: only the type's own fields, as the API's models want them. */
export function ruleOf(draft: RuleDraft): AlertRule {
  const out: Record<string, unknown> = { type: draft.type };
  for (const field of RULE_TYPES[draft.type].fields) {
    if (field === 'symbol') out.symbol = draft.symbol.trim().toUpperCase();
    else if (field === 'direction' || field === 'screen_id') out[field] = draft[field];
    else {
      const value = num(draft[field]);
      if (value !== undefined) out[field] = value;
    }
  }
  return out as unknown as AlertRule;
}

/** One line for the alerts table: "AAPL price above 200.00", "MSFT RSI (14) below 30". */
/** Who a rule watches: its symbol, or every stock of a watchlist. */
function scope(rule: Record<string, unknown>, sym: string): string {
  return sym || (typeof rule.watchlist_id === 'string' ? 'A watchlist stock' : '');
}

export function describeRule(rule: Record<string, unknown>, screenName?: (id: string) => string | undefined): string {
  const sym = typeof rule.symbol === 'string' ? rule.symbol : '';
  const n = (v: unknown) => (typeof v === 'number' ? v : Number(v));
  switch (rule.type) {
    case 'price_above':
      return `${sym} price above ${formatPrice(n(rule.price))}`;
    case 'price_below':
      return `${sym} price below ${formatPrice(n(rule.price))}`;
    case 'change_pct': {
      const dir = rule.direction === 'up' ? 'up' : rule.direction === 'down' ? 'down' : 'up or down';
      return `${sym} moves ${dir} ${n(rule.threshold_pct)}% or more in a day`;
    }
    case 'crosses_sma':
      return `${sym} crosses ${rule.direction === 'below' ? 'below' : 'above'} its ${n(rule.period)}-day SMA`;
    case 'rsi':
      return `${sym} RSI (14) ${rule.direction === 'below' ? 'below' : 'above'} ${n(rule.threshold)}`;
    case 'volume_spike':
      return `${sym} volume at least ${n(rule.multiple)}× its 20-day average`;
    case 'high_52w':
      return `${sym} makes a new 52-week high`;
    case 'low_52w':
      return `${sym} makes a new 52-week low`;
    case 'screen_enter':
    case 'screen_leave': {
      const id = String(rule.screen_id ?? '');
      const name = screenName?.(id);
      return `A stock ${rule.type === 'screen_enter' ? 'enters' : 'leaves'} ${name ? `“${name}”` : 'a saved screen'}`;
    }
    case 'crossing':
    case 'crossing_up':
    case 'crossing_down': {
      const how = rule.type === 'crossing_up' ? 'crosses above' : rule.type === 'crossing_down' ? 'crosses below' : 'crosses';
      const target = typeof rule.other === 'string' ? rule.other : formatPrice(n(rule.level));
      return `${scope(rule, sym)} ${String(rule.field ?? 'close')} ${how} ${target}`;
    }
    case 'channel_enter':
    case 'channel_exit':
      return `${scope(rule, sym)} ${String(rule.field ?? 'close')} ${rule.type === 'channel_enter' ? 'enters' : 'leaves'} ${formatPrice(n(rule.lower))}–${formatPrice(n(rule.upper))}`;
    case 'move_up_pct':
    case 'move_down_pct':
      return `${scope(rule, sym)} moves ${rule.type === 'move_up_pct' ? 'up' : 'down'} ${n(rule.pct)}% within ${n(rule.bars)} sessions`;
    case 'query':
      return `${scope(rule, sym)}: ${String(rule.query ?? '')}`;
    default:
      return String(rule.type ?? 'Unknown rule');
  }
}
