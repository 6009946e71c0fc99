import type { FieldType, FilterOp, ScreenFilter, ScreenRequest, SortOrder } from '@/types/api';
import { parseNumberInput } from '@/lib/format';

export const PAGE_SIZE = 50;

export interface FilterRow {
  id: string;
  field: string;
  fieldType: FieldType;
  op: FilterOp;
  /** Primary value as typed by the user (e.g. "10B"). */
  value: string;
  /** Upper bound for "between". */
  valueTo: string;
  /** Values for "in". */
  values: string[];
}

export const OPS_BY_TYPE: Record<FieldType, FilterOp[]> = {
  number: ['>', '>=', '<', '<=', '=', '!=', 'between'],
  date: ['>', '>=', '<', '<=', '=', 'between'],
  string: ['in', '=', '!='],
  boolean: ['='],
};

export const OP_LABELS: Record<FilterOp, string> = {
  '>': '>',
  '>=': '≥',
  '<': '<',
  '<=': '≤',
  '=': '=',
  '!=': '≠',
  between: 'between',
  in: 'is any of',
};

export function defaultOpFor(type: FieldType): FilterOp {
  return OPS_BY_TYPE[type][0] ?? '=';
}

export type BuildResult = { ok: true; filters: ScreenFilter[] } | { ok: false; errors: Record<string, string> };

function parseScalar(raw: string, type: FieldType): { ok: true; value: number | string | boolean } | { ok: false; error: string } {
  const text = raw.trim();
  if (!text) return { ok: false, error: 'Enter a value' };
  switch (type) {
    case 'number': {
      const n = parseNumberInput(text);
      return n === null ? { ok: false, error: `"${text}" is not a number` } : { ok: true, value: n };
    }
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(text) ? { ok: true, value: text } : { ok: false, error: 'Use YYYY-MM-DD' };
    case 'boolean': {
      const lower = text.toLowerCase();
      if (['true', 'yes', '1'].includes(lower)) return { ok: true, value: true };
      if (['false', 'no', '0'].includes(lower)) return { ok: true, value: false };
      return { ok: false, error: 'Use yes or no' };
    }
    default:
      return { ok: true, value: text };
  }
}

/** Convert the UI rows into the request filters. Rows without a field are ignored. */
export function buildFilters(rows: FilterRow[]): BuildResult {
  const filters: ScreenFilter[] = [];
  const errors: Record<string, string> = {};
  for (const row of rows) {
    if (!row.field) continue;
    if (row.op === 'in') {
      const values = row.values.map((v) => v.trim()).filter(Boolean);
      if (row.value.trim()) values.push(row.value.trim());
      if (values.length === 0) errors[row.id] = 'Pick at least one value';
      else filters.push({ field: row.field, op: 'in', value: Array.from(new Set(values)) });
      continue;
    }
    if (row.op === 'between') {
      const lo = parseScalar(row.value, row.fieldType);
      const hi = parseScalar(row.valueTo, row.fieldType);
      if (!lo.ok) errors[row.id] = lo.error;
      else if (!hi.ok) errors[row.id] = hi.error;
      else if (row.fieldType === 'number') {
        const a = lo.value as number;
        const b = hi.value as number;
        filters.push({ field: row.field, op: 'between', value: [Math.min(a, b), Math.max(a, b)] });
      } else {
        filters.push({ field: row.field, op: 'between', value: [String(lo.value), String(hi.value)] });
      }
      continue;
    }
    const parsed = parseScalar(row.value, row.fieldType);
    if (!parsed.ok) errors[row.id] = parsed.error;
    else filters.push({ field: row.field, op: row.op, value: parsed.value });
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, filters };
}

export function buildScreenRequest(args: {
  filters: ScreenFilter[];
  /** A screen in query text (opened from a saved screen the builder cannot show) instead of filters. */
  query?: string | null;
  sort: string;
  order: SortOrder;
  page: number;
}): ScreenRequest {
  return {
    ...(args.query ? { query: args.query } : { filters: args.filters }),
    sort: args.sort,
    order: args.order,
    limit: PAGE_SIZE,
    offset: Math.max(0, args.page) * PAGE_SIZE,
  };
}

type PresetRow = Omit<FilterRow, 'id' | 'valueTo' | 'values'> & Partial<Pick<FilterRow, 'valueTo' | 'values'>>;

export interface Preset {
  id: string;
  label: string;
  description: string;
  rows: PresetRow[];
  sort?: string;
  order?: SortOrder;
}

export const PRESETS: Preset[] = [
  {
    id: 'large-caps',
    label: 'Large caps',
    description: 'Market cap above $10B',
    rows: [{ field: 'market_cap', fieldType: 'number', op: '>', value: '10B' }],
    sort: 'market_cap',
    order: 'desc',
  },
  {
    id: 'oversold',
    label: 'Oversold RSI<30',
    description: '14-day RSI below 30',
    rows: [{ field: 'rsi14', fieldType: 'number', op: '<', value: '30' }],
    sort: 'rsi14',
    order: 'asc',
  },
  {
    id: 'high-dividend',
    label: 'High dividend',
    description: 'Dividend yield above 4%',
    rows: [{ field: 'dividend_yield', fieldType: 'number', op: '>', value: '4' }],
    sort: 'dividend_yield',
    order: 'desc',
  },
  {
    id: 'value',
    label: 'Value (P/E < 15)',
    description: 'Profitable companies with P/E between 0 and 15',
    rows: [{ field: 'pe', fieldType: 'number', op: 'between', value: '0', valueTo: '15' }],
    sort: 'pe',
    order: 'asc',
  },
  {
    id: 'mega-tech',
    label: 'Mega-cap tech',
    description: 'Information Technology above $100B',
    rows: [
      { field: 'sector', fieldType: 'string', op: 'in', value: '', values: ['Information Technology'] },
      { field: 'market_cap', fieldType: 'number', op: '>', value: '100B' },
    ],
    sort: 'market_cap',
    order: 'desc',
  },
];

export const GICS_SECTORS = [
  'Communication Services',
  'Consumer Discretionary',
  'Consumer Staples',
  'Energy',
  'Financials',
  'Health Care',
  'Industrials',
  'Information Technology',
  'Materials',
  'Real Estate',
  'Telecommunication Services',
  'Utilities',
];
