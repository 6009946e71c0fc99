import { describe, expect, it } from 'vitest';
import { formatPrice } from '@/lib/format';
import { ALERT_TYPES, describeRule, draftOf, emptyDraft, ruleOf } from './rules';

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

  it('covers every type the API has', () => {
    expect(rules.map((r) => r.type).sort()).toEqual([...ALERT_TYPES].sort());
  });

  it.each(rules)('round-trips $type through the form unchanged', (rule) => {
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
});
