import { create } from 'zustand';
import type { FieldType, Preset, ScreenerField, SortOrder } from '@/types';
import { astToFilters, filtersToAst, filtersToRows, type Cond } from './filter-ast';
import {
  buildFilters,
  buildScreenRequest,
  defaultOpFor,
  OPS_BY_TYPE,
  type FilterOp,
  type FilterRow,
  type ScreenFilter,
} from './filter-model';

let nextId = 1;
const newId = () => `f${nextId++}`;

export const DEFAULT_SORT = 'market_cap';
export const DEFAULT_ORDER: SortOrder = 'desc';

export interface ScreenerState {
  /** Draft filter rows edited in the builder. */
  rows: FilterRow[];
  /** Validation messages per row id, set by run(). */
  rowErrors: Record<string, string>;
  /** Filters of the last successful run(): these drive the query. */
  applied: ScreenFilter[];
  sort: string;
  order: SortOrder;
  page: number;
  activePreset: string | null;
  /** A screen in query text that the builder cannot show (applied instead of `applied`). */
  appliedQuery: string | null;
  /** The saved screen last opened, if any. */
  openScreenId: string | null;

  addRow: (init?: { field?: string; fieldType?: FieldType }) => void;
  removeRow: (id: string) => void;
  updateRow: (id: string, patch: Partial<Omit<FilterRow, 'id'>>) => void;
  setRowField: (id: string, field: string, fieldType: FieldType) => void;
  clearRows: () => void;
  /** Open a preset (GET /screens/presets) like a saved screen, and mark it active. */
  applyPreset: (preset: Preset, fields: ScreenerField[]) => void;
  run: () => boolean;
  toggleSort: (field: string) => void;
  setPage: (page: number) => void;
  /** Open a saved or shared screen: into the builder when it can show it, else as query text. */
  loadScreen: (screen: LoadableScreen, fields: ScreenerField[]) => void;
  clearQuery: () => void;
  reset: () => void;
}

export interface LoadableScreen {
  id?: string;
  query: string;
  ast: unknown;
  sort: string;
  order: string;
}

const initial = {
  rows: [] as FilterRow[],
  rowErrors: {} as Record<string, string>,
  applied: [] as ScreenFilter[],
  sort: DEFAULT_SORT,
  order: DEFAULT_ORDER,
  page: 0,
  activePreset: null as string | null,
  appliedQuery: null as string | null,
  openScreenId: null as string | null,
};

export const useScreenerStore = create<ScreenerState>()((set, get) => ({
  ...initial,

  addRow: (init) =>
    set((s) => {
      const fieldType = init?.fieldType ?? 'number';
      const row: FilterRow = {
        id: newId(),
        field: init?.field ?? '',
        fieldType,
        op: defaultOpFor(fieldType),
        value: '',
        valueTo: '',
        values: [],
      };
      return { rows: [...s.rows, row], activePreset: null };
    }),

  removeRow: (id) =>
    set((s) => {
      const rowErrors = { ...s.rowErrors };
      delete rowErrors[id];
      return { rows: s.rows.filter((r) => r.id !== id), rowErrors, activePreset: null };
    }),

  updateRow: (id, patch) =>
    set((s) => {
      const rowErrors = { ...s.rowErrors };
      delete rowErrors[id];
      return { rows: s.rows.map((r) => (r.id === id ? { ...r, ...patch } : r)), rowErrors, activePreset: null };
    }),

  setRowField: (id, field, fieldType) =>
    set((s) => ({
      rows: s.rows.map((r) => {
        if (r.id !== id) return r;
        const sameType = r.fieldType === fieldType;
        const op: FilterOp = sameType && OPS_BY_TYPE[fieldType].includes(r.op) ? r.op : defaultOpFor(fieldType);
        return {
          ...r,
          field,
          fieldType,
          op,
          value: sameType ? r.value : '',
          valueTo: sameType ? r.valueTo : '',
          values: sameType ? r.values : [],
        };
      }),
      activePreset: null,
    })),

  clearRows: () => set({ rows: [], rowErrors: {}, activePreset: null }),

  applyPreset: (preset, fields) => {
    get().loadScreen({ query: preset.query, ast: preset.ast, sort: preset.sort, order: preset.order }, fields);
    set({ activePreset: preset.id });
  },

  run: () => {
    const result = buildFilters(get().rows);
    if (!result.ok) {
      set({ rowErrors: result.errors });
      return false;
    }
    // With no builder rows, a screen opened as query text stays applied; any row replaces it.
    const keepQuery = result.filters.length === 0 && get().appliedQuery !== null;
    set({ applied: result.filters, rowErrors: {}, page: 0, appliedQuery: keepQuery ? get().appliedQuery : null });
    return true;
  },

  toggleSort: (field) =>
    set((s) => {
      if (s.sort === field) return { order: s.order === 'desc' ? 'asc' : 'desc', page: 0 };
      // Text columns read naturally A→Z; numbers largest first.
      const textual = field === 'symbol' || field === 'name' || field === 'sector';
      return { sort: field, order: textual ? 'asc' : 'desc', page: 0 };
    }),

  setPage: (page) => set({ page: Math.max(0, page) }),

  loadScreen: (screen, fields) => {
    const filters = astToFilters(screen.ast, fields);
    const base = {
      sort: screen.sort,
      order: (screen.order === 'asc' ? 'asc' : 'desc') as SortOrder,
      page: 0,
      rowErrors: {},
      activePreset: null,
      openScreenId: screen.id ?? null,
    };
    if (filters === null && screen.query) {
      set({ ...base, rows: [], applied: [], appliedQuery: screen.query });
      return;
    }
    const list = filters ?? [];
    set({ ...base, rows: filtersToRows(list, fields).map((r) => ({ ...r, id: newId() })), applied: list, appliedQuery: null });
  },

  clearQuery: () => set({ appliedQuery: null, applied: [], page: 0, openScreenId: null }),

  reset: () => set({ ...initial }),
}));

export function selectScreenRequest(s: Pick<ScreenerState, 'applied' | 'sort' | 'order' | 'page'> & { appliedQuery?: string | null }) {
  return buildScreenRequest({ filters: s.applied, query: s.appliedQuery, sort: s.sort, order: s.order, page: s.page });
}

/** What "save this screen" stores: the applied condition (query text or AST) and the sort. */
export interface ScreenDefinition {
  query: string | null;
  ast: Cond | null;
  sort: string;
  order: SortOrder;
}

export function selectScreenDefinition(s: Pick<ScreenerState, 'applied' | 'appliedQuery' | 'sort' | 'order'>): ScreenDefinition {
  return s.appliedQuery
    ? { query: s.appliedQuery, ast: null, sort: s.sort, order: s.order }
    : { query: null, ast: filtersToAst(s.applied), sort: s.sort, order: s.order };
}
