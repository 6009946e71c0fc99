import { beforeEach, describe, expect, it } from 'vitest';
import { fieldsFixture, presetFixture } from '@/test/fixtures';
import { buildFilters } from './filter-model';
import { selectScreenRequest, useScreenerStore } from './screener-store';

const store = () => useScreenerStore.getState();
const lastRowId = () => {
  const rows = store().rows;
  return rows[rows.length - 1]!.id;
};

describe('screener store', () => {
  beforeEach(() => store().reset());

  it('starts with no filters and requests the first page sorted by market cap', () => {
    expect(selectScreenRequest(store())).toEqual({ filters: [], sort: 'market_cap', order: 'desc', limit: 50, offset: 0 });
  });

  it('adding filters and running produces the right request body', () => {
    store().addRow();
    store().setRowField(lastRowId(), 'market_cap', 'number');
    store().updateRow(lastRowId(), { op: '>', value: '10B' });

    store().addRow();
    store().setRowField(lastRowId(), 'pe', 'number');
    store().updateRow(lastRowId(), { op: 'between', value: '20', valueTo: '5' });

    store().addRow();
    store().setRowField(lastRowId(), 'sector', 'string');
    expect(store().rows[2]!.op).toBe('in');
    store().updateRow(lastRowId(), { values: ['Energy', 'Utilities'] });

    expect(store().run()).toBe(true);
    expect(selectScreenRequest(store())).toEqual({
      filters: [
        { field: 'market_cap', op: '>', value: 10_000_000_000 },
        { field: 'pe', op: 'between', value: [5, 20] },
        { field: 'sector', op: 'in', value: ['Energy', 'Utilities'] },
      ],
      sort: 'market_cap',
      order: 'desc',
      limit: 50,
      offset: 0,
    });
  });

  it('removing a filter drops it from the next request', () => {
    store().addRow({ field: 'market_cap', fieldType: 'number' });
    const first = lastRowId();
    store().updateRow(first, { value: '1B' });
    store().addRow({ field: 'rsi14', fieldType: 'number' });
    store().updateRow(lastRowId(), { op: '<', value: '30' });
    store().removeRow(first);
    store().run();
    expect(selectScreenRequest(store()).filters).toEqual([{ field: 'rsi14', op: '<', value: 30 }]);
  });

  it('does not apply invalid rows and reports an error per row', () => {
    store().addRow({ field: 'market_cap', fieldType: 'number' });
    store().updateRow(lastRowId(), { value: 'lots' });
    expect(store().run()).toBe(false);
    expect(store().rowErrors[lastRowId()]).toMatch(/not a number/);
    expect(store().applied).toEqual([]);
  });

  it('ignores rows without a field', () => {
    store().addRow();
    expect(store().run()).toBe(true);
    expect(store().applied).toEqual([]);
  });

  it('presets fill the filters and run', () => {
    store().applyPreset(presetFixture('oversold'), fieldsFixture.data);
    expect(store().rows).toMatchObject([{ field: 'rsi14', fieldType: 'number', op: '<', value: '30' }]);
    expect(store().activePreset).toBe('oversold');
    expect(selectScreenRequest(store())).toEqual({
      filters: [{ field: 'rsi14', op: '<', value: 30 }],
      sort: 'rsi14',
      order: 'asc',
      limit: 50,
      offset: 0,
    });
  });

  it('a preset the builder cannot show runs as its query text', () => {
    store().addRow({ field: 'pe', fieldType: 'number' });
    store().applyPreset(presetFixture('golden_cross'), fieldsFixture.data);
    expect(store().rows).toEqual([]);
    expect(store().activePreset).toBe('golden_cross');
    expect(store().appliedQuery).toBe('sma50 crosses_above sma200 within 10 days');
    expect(selectScreenRequest(store())).toEqual({
      query: 'sma50 crosses_above sma200 within 10 days',
      sort: 'market_cap',
      order: 'desc',
      limit: 50,
      offset: 0,
    });
    store().addRow(); // editing the builder leaves the preset
    expect(store().activePreset).toBeNull();
  });

  it('sorting toggles order and resets the page; pagination sets the offset', () => {
    store().setPage(2);
    expect(selectScreenRequest(store()).offset).toBe(100);
    store().toggleSort('market_cap');
    expect(store().order).toBe('asc');
    expect(store().page).toBe(0);
    store().toggleSort('symbol');
    expect(store().sort).toBe('symbol');
    expect(store().order).toBe('asc');
    store().toggleSort('volume');
    expect(store().order).toBe('desc');
  });

  it('changing a field to another type resets operator and values', () => {
    store().addRow({ field: 'market_cap', fieldType: 'number' });
    store().updateRow(lastRowId(), { op: 'between', value: '1', valueTo: '2' });
    store().setRowField(lastRowId(), 'sector', 'string');
    expect(store().rows[0]).toMatchObject({ field: 'sector', op: 'in', value: '', valueTo: '', values: [] });
  });
});

describe('buildFilters', () => {
  const base = { id: 'x', valueTo: '', values: [] as string[] };
  it('includes pending text of an "in" row and de-duplicates', () => {
    const result = buildFilters([{ ...base, field: 'sector', fieldType: 'string', op: 'in', value: 'Energy', values: ['Energy', 'Materials'] }]);
    expect(result).toEqual({ ok: true, filters: [{ field: 'sector', op: 'in', value: ['Energy', 'Materials'] }] });
  });
  it('validates dates and booleans', () => {
    expect(buildFilters([{ ...base, field: 'date_added', fieldType: 'date', op: '>', value: '2010-01-01' }])).toEqual({
      ok: true,
      filters: [{ field: 'date_added', op: '>', value: '2010-01-01' }],
    });
    expect(buildFilters([{ ...base, field: 'date_added', fieldType: 'date', op: '>', value: '2010' }]).ok).toBe(false);
    expect(buildFilters([{ ...base, field: 'is_etf', fieldType: 'boolean', op: '=', value: 'yes' }])).toEqual({
      ok: true,
      filters: [{ field: 'is_etf', op: '=', value: true }],
    });
  });
});
