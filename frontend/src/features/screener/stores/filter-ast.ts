// The builder's filters <-> the screen AST the API stores (stockscreen.screening.ast). Filters map onto
// the AST exactly as the server's Filter.to_ast does; the way back succeeds only for what the builder
// can show (an "and" of simple comparisons of a field with literals), and returns null otherwise.
import type { components } from '@/types/openapi';
import { OPS_BY_TYPE, type FilterRow, type ScreenFilter } from './filter-model';
import type { FieldType, ScreenerField } from '@/types';

type S = components['schemas'];
export type Cond = S['Compare'] | S['Between'] | S['In'] | S['Cross'] | S['Flag'] | S['Window'] | S['And'] | S['Or'] | S['Not'];
type Literal = S['Num'] | S['Str'];

const field = (name: string): S['FieldRef'] => ({ kind: 'field', name, offset: 0, timeframe: 'daily' });

function literal(value: string | number | boolean): Literal {
  if (typeof value === 'string') return { kind: 'str', value };
  return { kind: 'num', value: typeof value === 'boolean' ? (value ? 1 : 0) : value, percent: false };
}

function filterToAst(f: ScreenFilter): Cond {
  if (f.op === 'between' && Array.isArray(f.value)) {
    return { kind: 'between', expr: field(f.field), low: literal(f.value[0]!), high: literal(f.value[1]!) };
  }
  if (f.op === 'in' && Array.isArray(f.value)) {
    return { kind: 'in', expr: field(f.field), values: (f.value as (string | number)[]).map(literal), negated: false };
  }
  return { kind: 'compare', left: field(f.field), op: f.op as S['Compare']['op'], right: literal(f.value as string | number | boolean) };
}

/** The AST of the builder's filters (null: no condition, every security). */
export function filtersToAst(filters: ScreenFilter[]): Cond | null {
  if (filters.length === 0) return null;
  const items = filters.map(filterToAst);
  return items.length === 1 ? items[0]! : { kind: 'and', items };
}

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

function plainField(v: unknown): string | null {
  if (!isNode(v) || v.kind !== 'field' || typeof v.name !== 'string') return null;
  if ((v.offset ?? 0) !== 0 || (v.timeframe ?? 'daily') !== 'daily') return null;
  return v.name;
}

function plainLiteral(v: unknown, type: FieldType): string | number | boolean | null {
  if (!isNode(v)) return null;
  if (v.kind === 'str' && typeof v.value === 'string') return type === 'string' || type === 'date' ? v.value : null;
  if (v.kind === 'num' && typeof v.value === 'number' && !v.percent) {
    if (type === 'boolean') return v.value === 1 ? true : v.value === 0 ? false : null;
    return type === 'number' ? v.value : null;
  }
  return null;
}

function leafToFilter(node: Node, types: Map<string, FieldType>): ScreenFilter | null {
  const name = plainField(node.kind === 'compare' ? node.left : node.expr);
  const type = name ? types.get(name) : undefined;
  if (!name || !type) return null;
  switch (node.kind) {
    case 'compare': {
      const value = plainLiteral(node.right, type);
      if (value === null) return null;
      if (typeof value === 'boolean') {
        // the builder's flags are "= yes/no"
        if (node.op === '=') return { field: name, op: '=', value };
        return node.op === '!=' ? { field: name, op: '=', value: !value } : null;
      }
      const op = node.op as ScreenFilter['op'];
      return OPS_BY_TYPE[type].includes(op) ? { field: name, op, value } : null;
    }
    case 'between': {
      const low = plainLiteral(node.low, type);
      const high = plainLiteral(node.high, type);
      if (low === null || high === null || typeof low === 'boolean' || typeof high === 'boolean') return null;
      return { field: name, op: 'between', value: [low, high] as [number, number] | [string, string] };
    }
    case 'in': {
      if (node.negated || !Array.isArray(node.values)) return null;
      const values = node.values.map((v) => plainLiteral(v, type));
      if (values.length === 0 || !values.every((v): v is string => typeof v === 'string')) return null;
      return { field: name, op: 'in', value: values };
    }
    case 'flag':
      return type === 'boolean' ? { field: name, op: '=', value: true } : null;
    default:
      return null;
  }
}

/** The builder's filters for a stored AST, or null when the builder cannot represent it. */
export function astToFilters(ast: unknown, fields: ScreenerField[]): ScreenFilter[] | null {
  if (ast === null || ast === undefined) return [];
  if (!isNode(ast)) return null;
  const types = new Map(fields.map((f) => [f.id, f.type]));
  const leaves = ast.kind === 'and' && Array.isArray(ast.items) ? ast.items : [ast];
  const out: ScreenFilter[] = [];
  for (const leaf of leaves) {
    const filter = isNode(leaf) ? leafToFilter(leaf, types) : null;
    if (!filter) return null;
    out.push(filter);
  }
  return out;
}

/** A number as the builder's value box accepts it: 100000000000 -> "100B", 2.5 -> "2.5". */
export function formatNumberInput(n: number): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
  ];
  for (const [size, suffix] of units) {
    const scaled = n / size;
    if (Math.abs(scaled) >= 1 && Math.abs(scaled * 100 - Math.round(scaled * 100)) < 1e-6) {
      return `${Number(scaled.toFixed(2))}${suffix}`;
    }
  }
  return String(n);
}

function scalarText(v: string | number | boolean, type: FieldType): string {
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number' && type === 'number') return formatNumberInput(v);
  return String(v);
}

/** Builder rows (without ids) for filters; the field types come from the catalogue. */
export function filtersToRows(filters: ScreenFilter[], fields: ScreenerField[]): Omit<FilterRow, 'id'>[] {
  const types = new Map(fields.map((f) => [f.id, f.type]));
  return filters.map((f) => {
    const type = types.get(f.field) ?? 'number';
    if (f.op === 'in' && Array.isArray(f.value)) {
      return { field: f.field, fieldType: type, op: 'in', value: '', valueTo: '', values: f.value.map(String) };
    }
    if (f.op === 'between' && Array.isArray(f.value)) {
      const [lo, hi] = f.value as [number | string, number | string];
      return { field: f.field, fieldType: type, op: 'between', value: scalarText(lo, type), valueTo: scalarText(hi, type), values: [] };
    }
    return { field: f.field, fieldType: type, op: f.op, value: scalarText(f.value as string | number | boolean, type), valueTo: '', values: [] };
  });
}
