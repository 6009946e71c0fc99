import { describe, expect, it } from 'vitest';
import { eventFixture } from '@/test/alerts-api';
import { deliveriesOf, explainFiring, firedRule, firingSource } from './history';

describe('a firing explained', () => {
  it('says which way a two-way crossing went', () => {
    const up = eventFixture(1, 'a', { value: 79.35, level: 79.29, details: { type: 'crossing', rule: { symbol: 'XOM', field: 'close', level: 79.29 } } });
    expect(explainFiring(up)).toEqual([{ clause: 'price crossed above', value: '79.35', threshold: '79.29', passed: true }]);
    const down = { ...up, value: 79.1 };
    expect(explainFiring(down)[0]!.clause).toBe('price crossed below');
    expect(firedRule(up)).toBe('XOM close crosses 79.29');
  });

  it('shows a channel with both bounds, a query, and the screener’s own clauses when the event has them', () => {
    const channel = eventFixture(2, 'a', { value: 85, level: 80, details: { type: 'channel_enter', rule: { field: 'sma50' }, upper: 90 } });
    expect(explainFiring(channel)).toEqual([{ clause: 'sma50 entered', value: '85.00', threshold: '80.00 – 90.00', passed: true }]);
    const query = eventFixture(3, 'a', { value: null, level: null, details: { type: 'query', rule: {}, query: 'rsi14 < 30' } });
    expect(explainFiring(query)).toEqual([{ clause: 'rsi14 < 30', value: 'true', threshold: 'true', passed: true }]);
    const clauses = eventFixture(4, 'a', {
      details: {
        type: 'query',
        query: 'rsi14 < 30 and volume > 2 * avg_volume_20',
        clauses: [
          { clause: 'rsi14 < 30', value: 27.4, threshold: '30', threshold_value: 30, pass: true },
          { clause: 'volume > 2 * avg_volume_20', value: 3_100_000, threshold: '2 * avg_volume_20', threshold_value: 2_400_000, pass: true },
        ],
      },
    });
    expect(explainFiring(clauses)).toEqual([
      { clause: 'rsi14 < 30', value: '27.40', threshold: '30.00', passed: true },
      { clause: 'volume > 2 * avg_volume_20', value: '3,100,000', threshold: '2,400,000', passed: true },
    ]);
  });

  it('names where it was evaluated, and each channel’s delivery with its tone', () => {
    expect(firingSource(eventFixture(5, 'a', { source: 'daily', details: { as_of: '2018-02-07' } }))).toBe('Daily close of 2018-02-07');
    expect(firingSource(eventFixture(6, 'a'))).toBe('Live quote');
    const event = eventFixture(7, 'a', {
      delivery: { queued_at: 'x', in_app: 'sent', websocket: 'no open session', email: 'held: quiet hours', sns: 'failed: Timeout', webhook: { status: 'sent' } },
    });
    expect(deliveriesOf(event).map((d) => [d.label, d.status, d.tone])).toEqual([
      ['In-app', 'sent', 'ok'],
      ['Live (browser)', 'no open session', 'off'],
      ['Email', 'held: quiet hours', 'held'],
      ['SMS / SNS', 'failed: Timeout', 'failed'],
      ['Webhook', 'sent', 'ok'],
    ]);
    expect(deliveriesOf(eventFixture(8, 'a', { delivery: { queued_at: 'x' } }))).toEqual([]);
  });
});
