import { parseNumberInput } from '@/lib/format';
import type { FieldType, SortOrder } from '@/types';

// What the SPA sends to POST /screens/run. The OpenAPI document describes the route's results, not its
// body, so the builder's request is written out here (the server's model: stockscreen.screening.engine's
// ScreenRequest and Filter).
export type ComparisonOp = '>' | '>=' | '<' | '<=' | '=' | '!=';
export type FilterOp = ComparisonOp | 'between' | 'in';
export type FilterValue = number | string | boolean | [number, number] | [string, string] | string[];

/** One simple filter of the builder. */
export interface ScreenFilter {
  field: string;
  op: FilterOp;
  value: FilterValue;
}

export interface ScreenRequest {
  /** The builder's filters, or `query` (the screening language) for screens the builder cannot show. */
  filters?: ScreenFilter[];
  query?: string;
  sort?: string;
  order?: SortOrder;
  limit: number;
  offset: number;
}

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
