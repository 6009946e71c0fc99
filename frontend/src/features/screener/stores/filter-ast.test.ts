import { describe, expect, it } from 'vitest';
import { field, fieldsFixture } from '@/test/fixtures';
import type { ScreenerField } from '@/types';
import { astToFilters, filtersToAst, filtersToRows, formatNumberInput } from './filter-ast';
import { buildFilters, type ScreenFilter } from './filter-model';

const fields: ScreenerField[] = [
  ...fieldsFixture.data,
  field({ id: 'date_added', label: 'Date Added', group: 'descriptive', type: 'date', unit: null }),
  field({ id: 'new_high_52w', label: 'New 52W High', group: 'technical', type: 'boolean', unit: null }),
  field({ id: 'sma200', label: 'SMA 200', group: 'technical', type: 'number', unit: 'usd' }),
];

const f = (name: string) => ({ kind: 'field', name, offset: 0, timeframe: 'daily' });

describe('filters <-> AST', () => {
  it('builds the AST the server builds from the same filters (Filter.to_ast)', () => {
    const filters: ScreenFilter[] = [
      { field: 'market_cap', op: '>', value: 1e11 },
      { field: 'sector', op: 'in', value: ['Energy', 'Utilities'] },
      { field: 'pe', op: 'between', value: [0, 15] },
      { field: 'new_high_52w', op: '=', value: true },
    ];
    expect(filtersToAst(filters)).toEqual({
      kind: 'and',
      items: [
        { kind: 'compare', left: f('market_cap'), op: '>', right: { kind: 'num', value: 1e11, percent: false } },
        { kind: 'in', expr: f('sector'), values: [{ kind: 'str', value: 'Energy' }, { kind: 'str', value: 'Utilities' }], negated: false },
        { kind: 'between', expr: f('pe'), low: { kind: 'num', value: 0, percent: false }, high: { kind: 'num', value: 15, percent: false } },
        { kind: 'compare', left: f('new_high_52w'), op: '=', right: { kind: 'num', value: 1, percent: false } },
      ],
    });
    expect(filtersToAst([])).toBeNull();
    expect(filtersToAst([filters[0]!])).toMatchObject({ kind: 'compare' });
  });

  it('round-trips every filter shape the builder makes', () => {
    const filters: ScreenFilter[] = [
      { field: 'market_cap', op: '>=', value: 2.5e9 },
      { field: 'sector', op: 'in', value: ['Energy'] },
      { field: 'sector', op: '!=', value: 'Utilities' },
      { field: 'pe', op: 'between', value: [5, 20] },
      { field: 'date_added', op: 'between', value: ['2010-01-01', '2015-12-31'] },
      { field: 'new_high_52w', op: '=', value: false },
    ];
    expect(astToFilters(filtersToAst(filters), fields)).toEqual(filters);
    expect(astToFilters(null, fields)).toEqual([]);
  });

  it('gives up (null) on what the builder cannot show', () => {
    const cross = { kind: 'cross', left: f('close'), direction: 'above', right: f('sma200') };
    const againstField = { kind: 'compare', left: f('market_cap'), op: '>', right: f('sma200') };
    const offset = { kind: 'compare', left: { ...f('pe'), offset: 5 }, op: '<', right: { kind: 'num', value: 10, percent: false } };
    const percent = { kind: 'compare', left: f('pe'), op: '<', right: { kind: 'num', value: 10, percent: true } };
    const or = { kind: 'or', items: [] };
    const notIn = { kind: 'in', expr: f('sector'), values: [{ kind: 'str', value: 'Energy' }], negated: true };
    const unknown = { kind: 'compare', left: f('nope'), op: '>', right: { kind: 'num', value: 1, percent: false } };
    for (const node of [cross, againstField, offset, percent, or, notIn, unknown]) {
      expect(astToFilters(node, fields)).toBeNull();
      expect(astToFilters({ kind: 'and', items: [{ kind: 'compare', left: f('pe'), op: '<', right: { kind: 'num', value: 9, percent: false } }, node] }, fields)).toBeNull();
    }
  });

  it('reads bare flags and "!= yes" as the builder\'s yes/no', () => {
    expect(astToFilters({ kind: 'flag', expr: f('new_high_52w') }, fields)).toEqual([{ field: 'new_high_52w', op: '=', value: true }]);
    expect(astToFilters({ kind: 'compare', left: f('new_high_52w'), op: '!=', right: { kind: 'num', value: 1, percent: false } }, fields)).toEqual([
      { field: 'new_high_52w', op: '=', value: false },
    ]);
  });

  it('makes builder rows that build the same filters again', () => {
    const filters: ScreenFilter[] = [
      { field: 'market_cap', op: '>', value: 1e11 },
      { field: 'sector', op: 'in', value: ['Energy'] },
      { field: 'pe', op: 'between', value: [0, 15] },
      { field: 'new_high_52w', op: '=', value: true },
    ];
    const rows = filtersToRows(filters, fields).map((r, i) => ({ ...r, id: `r${i}` }));
    expect(rows[0]).toMatchObject({ field: 'market_cap', fieldType: 'number', op: '>', value: '100B' });
    expect(rows[3]).toMatchObject({ fieldType: 'boolean', value: 'yes' });
    expect(buildFilters(rows)).toEqual({ ok: true, filters });
  });
});

describe('formatNumberInput', () => {
  it.each([
    [1e11, '100B'],
    [2.5e9, '2.5B'],
    [1.25e12, '1.25T'],
    [5e6, '5M'],
    [123456789, '123456789'],
    [15, '15'],
    [-3, '-3'],
    [0.5, '0.5'],
  ])('%s -> %s', (n, text) => {
    expect(formatNumberInput(n)).toBe(text);
  });
});
