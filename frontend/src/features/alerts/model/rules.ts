import { formatPrice } from '@/lib/format';
import type { AlertRule, AlertType } from '../api/keys';

/** Who an alert watches: one symbol, every symbol of a watchlist, or a saved screen's membership. */
export type Scope = 'symbol' | 'watchlist' | 'screen';

export const SCOPES: { value: Scope; label: string }[] = [
  { value: 'symbol', label: 'One stock' },
  { value: 'watchlist', label: 'Every stock of a watchlist' },
  { value: 'screen', label: 'A saved screen (stocks entering or leaving it)' },
];

/** The form's fields; a rule type uses some of them (stockscreen.alerts.models has the models). */
export type RuleField =
  | 'symbol'
  | 'watchlist_id'
  | 'screen_id'
  | 'price'
  | 'threshold_pct'
  | 'direction'
  | 'period'
  | 'threshold'
  | 'multiple'
  | 'field'
  | 'level'
  | 'other'
  | 'lower'
  | 'upper'
  | 'pct'
  | 'bars'
  | 'query';

/** The fields a type's own parameters use (the scope's symbol / watchlist / screen come from `scopes`). */
type ParamField = Exclude<RuleField, 'symbol' | 'watchlist_id' | 'screen_id'>;

export interface RuleTypeInfo {
  label: string;
  /** The scopes the type accepts (the API refuses the others). */
  scopes: Scope[];
  fields: ParamField[];
  /** The direction choices, when the type has one. */
  directions?: { value: string; label: string }[];
  /** The group of the condition picker. */
  group: string;
}

const ABOVE_BELOW = [
  { value: 'above', label: 'Above' },
  { value: 'below', label: 'Below' },
];

/** Every rule type the API accepts. */
export type FormAlertType = AlertType;

const ONE: Scope[] = ['symbol'];
const SCOPED: Scope[] = ['symbol', 'watchlist'];
const PRICE = 'Price and indicators';
const CROSS = 'Crossings';
const MOVES = 'Channels and moves';

export const RULE_TYPES: Record<FormAlertType, RuleTypeInfo> = {
  price_above: { label: 'Price rises above', scopes: ONE, fields: ['price'], group: PRICE },
  price_below: { label: 'Price falls below', scopes: ONE, fields: ['price'], group: PRICE },
  change_pct: {
    label: 'Daily change of at least',
    scopes: ONE,
    fields: ['threshold_pct', 'direction'],
    directions: [
      { value: 'either', label: 'Up or down' },
      { value: 'up', label: 'Up' },
      { value: 'down', label: 'Down' },
    ],
    group: PRICE,
  },
  crosses_sma: { label: 'Price crosses a moving average', scopes: ONE, fields: ['period', 'direction'], directions: ABOVE_BELOW, group: PRICE },
  rsi: { label: 'RSI (14) crosses a level', scopes: ONE, fields: ['threshold', 'direction'], directions: ABOVE_BELOW, group: PRICE },
  volume_spike: { label: 'Volume spike', scopes: ONE, fields: ['multiple'], group: PRICE },
  high_52w: { label: 'New 52-week high', scopes: ONE, fields: [], group: PRICE },
  low_52w: { label: 'New 52-week low', scopes: ONE, fields: [], group: PRICE },
  crossing: { label: 'Crosses (either way)', scopes: SCOPED, fields: ['field', 'level', 'other'], group: CROSS },
  crossing_up: { label: 'Crosses up', scopes: SCOPED, fields: ['field', 'level', 'other'], group: CROSS },
  crossing_down: { label: 'Crosses down', scopes: SCOPED, fields: ['field', 'level', 'other'], group: CROSS },
  channel_enter: { label: 'Enters a channel', scopes: SCOPED, fields: ['field', 'lower', 'upper'], group: MOVES },
  channel_exit: { label: 'Exits a channel', scopes: SCOPED, fields: ['field', 'lower', 'upper'], group: MOVES },
  move_up_pct: { label: 'Moves up X% within N sessions', scopes: SCOPED, fields: ['pct', 'bars'], group: MOVES },
  move_down_pct: { label: 'Moves down X% within N sessions', scopes: SCOPED, fields: ['pct', 'bars'], group: MOVES },
  query: { label: 'Query-language expression', scopes: SCOPED, fields: ['query'], group: 'Query' },
  screen_enter: { label: 'A stock enters the screen', scopes: ['screen'], fields: [], group: 'Screen membership' },
  screen_leave: { label: 'A stock leaves the screen', scopes: ['screen'], fields: [], group: 'Screen membership' },
};

export const ALERT_TYPES = Object.keys(RULE_TYPES) as FormAlertType[];
export const SMA_PERIODS = [20, 50, 200] as const;

/** The types a scope can watch, in the picker's order. */
export function typesFor(scope: Scope): FormAlertType[] {
  return ALERT_TYPES.filter((t) => RULE_TYPES[t].scopes.includes(scope));
}

/** Whether a crossing is against a number (`level`) or another field (`other`). */
export type CrossTarget = 'level' | 'other';

/** The form's text for each field, the scope, and what a crossing compares against. */
export type RuleDraft = { type: FormAlertType; scope: Scope; against: CrossTarget } & Record<RuleField, string>;

export function emptyDraft(type: FormAlertType = 'price_above', symbol = ''): RuleDraft {
  const info = RULE_TYPES[type];
  return {
    type,
    scope: info.scopes[0]!,
    against: 'level',
    symbol,
    watchlist_id: '',
    screen_id: '',
    price: '',
    threshold_pct: '',
    direction: info.directions?.[0]?.value ?? '',
    period: '50',
    threshold: '',
    multiple: '2',
    field: 'close',
    level: '',
    other: 'sma50',
    lower: '',
    upper: '',
    pct: '',
    bars: '5',
    query: '',
  };
}

/** A draft switched to another type: what the user typed is kept where the new type has the same field. */
export function withType(draft: RuleDraft, type: FormAlertType): RuleDraft {
  const info = RULE_TYPES[type];
  const scope = info.scopes.includes(draft.scope) ? draft.scope : info.scopes[0]!;
  const direction = info.directions?.some((d) => d.value === draft.direction) ? draft.direction : (info.directions?.[0]?.value ?? '');
  return { ...draft, type, scope, direction };
}

/** A draft switched to another scope (and to the first type of that scope when its type does not fit). */
export function withScope(draft: RuleDraft, scope: Scope): RuleDraft {
  const next = { ...draft, scope };
  return RULE_TYPES[draft.type].scopes.includes(scope) ? next : withType(next, typesFor(scope)[0]!);
}

/** A stored rule (`AlertPublic.rule`, loosely typed by the API) back into the form. */
export function draftOf(rule: Record<string, unknown>): RuleDraft {
  const type = (ALERT_TYPES as string[]).includes(String(rule.type)) ? (rule.type as FormAlertType) : 'price_above';
  const draft = emptyDraft(type);
  const info = RULE_TYPES[type];
  draft.scope = info.scopes.includes('screen') ? 'screen' : typeof rule.watchlist_id === 'string' ? 'watchlist' : 'symbol';
  draft.against = typeof rule.other === 'string' ? 'other' : 'level';
  for (const field of ['symbol', 'watchlist_id', 'screen_id', ...info.fields] as RuleField[]) {
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

/** The request body's rule for a draft: the scope and only the type's own fields, as the API's models want them. */
export function ruleOf(draft: RuleDraft): AlertRule {
  const info = RULE_TYPES[draft.type];
  const out: Record<string, unknown> = { type: draft.type };
  if (draft.scope === 'screen') out.screen_id = draft.screen_id;
  else if (draft.scope === 'watchlist') out.watchlist_id = draft.watchlist_id;
  else out.symbol = draft.symbol.trim().toUpperCase();
  for (const field of info.fields) {
    if (field === 'level' && draft.against !== 'level') continue;
    if (field === 'other' && draft.against !== 'other') continue;
    if (field === 'direction' || field === 'field' || field === 'other') out[field] = draft[field];
    else if (field === 'query') out.query = draft.query.trim();
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
