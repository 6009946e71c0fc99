import { ApiError, errorMessage } from '@/lib/api-client';

/** A query-language error as the editor shows it: the message and, when the parser gave one, the position. */
export interface QueryProblem {
  message: string;
  line: number | null;
  column: number | null;
  expected: string[];
}

/**
 * The screener parser's refusal (stockscreen.screening.language): syntax errors carry `details.line`,
 * `details.column` and `details.expected`; other refusals (an unknown field) name "line L, column C" in the
 * message only.
 */
export function queryProblemOf(error: unknown): QueryProblem {
  const message = errorMessage(error);
  const d = error instanceof ApiError && typeof error.details === 'object' && error.details !== null ? (error.details as Record<string, unknown>) : {};
  let line = typeof d.line === 'number' ? d.line : null;
  let column = typeof d.column === 'number' ? d.column : null;
  if (line === null || column === null) {
    const m = /line (\d+), column (\d+)/.exec(message);
    if (m) {
      line = Number(m[1]);
      column = Number(m[2]);
    }
  }
  const expected = Array.isArray(d.expected) ? d.expected.filter((x): x is string => typeof x === 'string') : [];
  return { message, line, column, expected };
}

/** Whether an API refusal is about query-language text (for the create form to put it on the query field). */
export function isQueryError(error: ApiError): boolean {
  const d = error.details as Record<string, unknown> | null;
  return /query/i.test(error.code) || (!!d && typeof d === 'object' && typeof d.line === 'number' && typeof d.column === 'number');
}
