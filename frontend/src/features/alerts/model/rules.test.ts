import { describe, expect, it } from 'vitest';
import { formatPrice } from '@/lib/format';
import { ALERT_TYPES, describeRule, draftOf, emptyDraft, ruleOf, typesFor, withScope, withType } from './rules';

describe('alert rules', () => {
  const SCREEN = '00000000-0000-4000-8000-000000000009';
  // One valid rule per type, in the shapes of stockscreen.alert_rules' models.
  const rules = [
    { type: 'price_above', symbol: 'AAPL', price: 200 },
    { type: 'price_below', symbol: 'AAPL', price: 120.5 },
    { type: 'change_pct', symbol: 'MSFT', threshold_pct: 5, direction: 'down' },
    { type: 'crosses_sma', symbol: 'MSFT', period: 200, direction: 'above' },
    { type: 'rsi', symbol: 'XOM', threshold: 30, direction: 'below' },
    { type: 'volume_spike', symbol: 'XOM', multiple: 3 },
    { type: 'high_52w', symbol: 'NVDA' },
    { type: 'low_52w', symbol: 'NVDA' },
    { type: 'screen_enter', screen_id: SCREEN },
    { type: 'screen_leave', screen_id: SCREEN },
  ];
  const WL = '00000000-0000-4000-8000-0000000000a1';
  // the kinds beyond the first ten, on one symbol or a whole watchlist
  const scoped = [
    { type: 'crossing', symbol: 'MSFT', field: 'close', level: 91.5 },
    { type: 'crossing_up', watchlist_id: WL, field: 'close', other: 'sma50' },
    { type: 'crossing_down', symbol: 'AAPL', field: 'rsi14', level: 30 },
    { type: 'channel_enter', symbol: 'XOM', field: 'close', lower: 80, upper: 90 },
    { type: 'channel_exit', watchlist_id: WL, field: 'sma50', lower: 80, upper: 90 },
    { type: 'move_up_pct', symbol: 'NVDA', pct: 5, bars: 3 },
    { type: 'move_down_pct', watchlist_id: WL, pct: 7.5, bars: 10 },
    { type: 'query', watchlist_id: WL, query: 'rsi14 < 30 and volume > 2 * avg_volume_20' },
  ];

  it('covers every type the API has', () => {
    expect([...rules, ...scoped].map((r) => r.type).sort()).toEqual([...ALERT_TYPES].sort());
  });

  it.each([...rules, ...scoped])('round-trips $type through the form unchanged', (rule) => {
    expect(ruleOf(draftOf(rule))).toEqual(rule);
  });

  it('sends only the fields of the chosen type, numbers as numbers and bad text as typed', () => {
    const draft = { ...emptyDraft('rsi', ' aapl '), price: '150', threshold: '70', direction: 'above' };
    expect(ruleOf(draft)).toEqual({ type: 'rsi', symbol: 'AAPL', threshold: 70, direction: 'above' });
    expect(ruleOf({ ...emptyDraft('price_above', 'AAPL'), price: '1,250.5' })).toEqual({ type: 'price_above', symbol: 'AAPL', price: 1250.5 });
    // the API says what is wrong with these, in its words
    expect(ruleOf({ ...emptyDraft('price_above', 'AAPL'), price: 'lots' })).toEqual({ type: 'price_above', symbol: 'AAPL', price: 'lots' });
    expect(ruleOf(emptyDraft('price_below', 'AAPL'))).toEqual({ type: 'price_below', symbol: 'AAPL' });
  });

  it('describes each rule in a line', () => {
    const screens = (id: string) => (id === SCREEN ? 'Value' : undefined);
    expect(rules.map((r) => describeRule(r, screens))).toEqual([
      'AAPL price above 200.00',
      'AAPL price below 120.50',
      'MSFT moves down 5% or more in a day',
      'MSFT crosses above its 200-day SMA',
      'XOM RSI (14) below 30',
      'XOM volume at least 3× its 20-day average',
      'NVDA makes a new 52-week high',
      'NVDA makes a new 52-week low',
      'A stock enters “Value”',
      'A stock leaves “Value”',
    ]);
    expect(describeRule({ type: 'screen_enter', screen_id: 'gone' }, screens)).toBe('A stock enters a saved screen');
  });

  it('describes the kinds the API has beyond the form', () => {
    expect(describeRule({ type: 'crossing_up', symbol: 'AAPL', field: 'close', other: 'sma50' })).toBe('AAPL close crosses above sma50');
    expect(describeRule({ type: 'crossing', symbol: 'MSFT', field: 'close', level: 91.5 })).toBe(`MSFT close crosses ${formatPrice(91.5)}`);
    expect(describeRule({ type: 'channel_exit', symbol: 'XOM', field: 'close', lower: 80, upper: 90 })).toBe(
      `XOM close leaves ${formatPrice(80)}–${formatPrice(90)}`,
    );
    expect(describeRule({ type: 'move_down_pct', watchlist_id: 'w', pct: 5, bars: 3 })).toBe('A watchlist stock moves down 5% within 3 sessions');
    expect(describeRule({ type: 'query', symbol: 'JPM', query: 'rsi14 < 30' })).toBe('JPM: rsi14 < 30');
  });

  it('offers each scope only the kinds the API accepts on it, and moves a draft between them', () => {
    expect(typesFor('screen')).toEqual(['screen_enter', 'screen_leave']);
    expect(typesFor('watchlist')).toEqual(['crossing', 'crossing_up', 'crossing_down', 'channel_enter', 'channel_exit', 'move_up_pct', 'move_down_pct', 'query']);
    expect(typesFor('symbol')).toHaveLength(16);
    // a one-symbol kind moved to a watchlist becomes the watchlist's first kind; what was typed is kept
    const moved = withScope({ ...emptyDraft('price_above', 'AAPL'), level: '12' }, 'watchlist');
    expect(moved).toMatchObject({ type: 'crossing', scope: 'watchlist', level: '12' });
    expect(withScope(moved, 'symbol')).toMatchObject({ type: 'crossing', scope: 'symbol' });
    expect(withType({ ...emptyDraft('crossing'), scope: 'watchlist' }, 'rsi')).toMatchObject({ type: 'rsi', scope: 'symbol', direction: 'above' });
    // a crossing sends the level or the other field, never both
    const cross = { ...emptyDraft('crossing_up', 'aapl'), level: '150', other: 'sma200' };
    expect(ruleOf(cross)).toEqual({ type: 'crossing_up', symbol: 'AAPL', field: 'close', level: 150 });
    expect(ruleOf({ ...cross, against: 'other' })).toEqual({ type: 'crossing_up', symbol: 'AAPL', field: 'close', other: 'sma200' });
  });
});
