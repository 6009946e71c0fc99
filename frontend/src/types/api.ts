// Hand-written types for the Stockscreen HTTP + WebSocket contract.

export interface ApiErrorBody {
  error: {
    code: string;
    message: string;
    details?: unknown;
    request_id?: string;
  };
}

export interface HealthResponse {
  status: 'ok' | 'degraded';
  checks: Record<string, unknown>;
}

export type FieldGroup = 'descriptive' | 'fundamental' | 'technical';
export type FieldType = 'number' | 'string' | 'date' | 'boolean';
export type FieldUnit = 'usd' | 'pct' | 'ratio' | 'shares' | null;

export interface ScreenerField {
  id: string;
  label: string;
  group: FieldGroup;
  type: FieldType;
  unit: FieldUnit;
  description?: string;
  /** Roles that may screen on the field; free visitors get the basic set. */
  roles?: string[];
}

export interface ListResponse<T> {
  data: T[];
  count: number;
}

export type FieldsResponse = ListResponse<ScreenerField>;

export type ComparisonOp = '>' | '>=' | '<' | '<=' | '=' | '!=';
export type FilterOp = ComparisonOp | 'between' | 'in';

export type FilterValue = number | string | boolean | [number, number] | [string, string] | string[];

export interface ScreenFilter {
  field: string;
  op: FilterOp;
  value: FilterValue;
}

export type SortOrder = 'asc' | 'desc';

export interface ScreenRequest {
  /** The builder's filters, or `query` (the screening language) for screens the builder cannot show. */
  filters?: ScreenFilter[];
  query?: string;
  sort?: string;
  order?: SortOrder;
  limit: number;
  offset: number;
}

export interface ScreenRow {
  symbol: string;
  name: string | null;
  sector: string | null;
  close: number | null;
  change_pct: number | null;
  volume: number | null;
  market_cap: number | null;
  pe: number | null;
  dividend_yield?: number | null;
  rsi14: number | null;
  sma50?: number | null;
  perf_1m?: number | null;
  [key: string]: string | number | boolean | null | undefined;
}

export interface ScreenResponse {
  data: ScreenRow[];
  count: number;
  as_of: string | null;
  snapshot_version?: number | null;
  /** The screen's condition in canonical query text (null when unfiltered): what explain takes. */
  query?: string | null;
}

/** GET /api/screens/explain?symbol&query[&as_of]: one symbol against each clause of a screen. */
export interface ExplainClause {
  clause: string;
  /** The symbol's value of the clause's subject (null when missing). */
  value: number | string | boolean | null;
  /** The right-hand side as written: "100000000000", "sma200", ["0", "15"], ["Energy"]. */
  threshold: string | number | (string | number)[] | null;
  /** The threshold's value for this symbol when it is an expression (e.g. sma200), else null. */
  threshold_value: number | string | null;
  pass: boolean;
}

export interface ExplainResponse {
  symbol: string;
  query: string;
  as_of: string;
  snapshot_version: number;
  pass: boolean;
  clauses: ExplainClause[];
}

export interface SecuritySummary {
  symbol: string;
  name: string | null;
  sector: string | null;
  industry: string | null;
}

export type SecuritySearchResponse = ListResponse<SecuritySummary>;

export interface SecuritySnapshot {
  close?: number | null;
  change_pct?: number | null;
  volume?: number | null;
  market_cap?: number | null;
  pe?: number | null;
  eps?: number | null;
  dividend_yield?: number | null;
  high_52w?: number | null;
  low_52w?: number | null;
  rsi14?: number | null;
  sma20?: number | null;
  sma50?: number | null;
  sma200?: number | null;
  [key: string]: string | number | boolean | null | undefined;
}

export interface SecurityDetail extends SecuritySummary {
  headquarters?: string | null;
  date_added?: string | null;
  snapshot: SecuritySnapshot | null;
}

export type BarInterval = '1d' | '1w' | '1mo';

export interface Bar {
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number | null;
}

export interface BarsResponse {
  symbol: string;
  interval: BarInterval;
  data: Bar[];
}

// WebSocket messages
export interface QuoteMessage {
  type: 'quote';
  symbol: string;
  price: number;
  change_pct: number | null;
  volume: number | null;
  ts: string;
}

/** An alert rule fired for the connected user (functions/ws, stockscreen.realtime.messages.AlertMessage). */
export interface AlertMessage {
  type: 'alert';
  alert_id: string;
  symbol: string;
  message: string;
  price: number | null;
  triggered_at: string;
}

export interface SubscribeMessage {
  action: 'subscribe' | 'unsubscribe';
  symbols: string[];
}
