import { useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import { useDebounced } from '@/lib/use-debounced';
import type { components } from '@/types/openapi';

export type ParseResult = components['schemas']['ParseResult'];

/** The screener's parser (`POST /screens/parse`): the canonical text, or a 400 naming the line and column. */
export function parseQuery(query: string, signal?: AbortSignal): Promise<ParseResult> {
  return api.post<ParseResult>('/screens/parse', { query }, signal);
}

/** Live validation of query-language text as it is typed (debounced; empty text is not sent). */
export function useQueryValidation(text: string, { delay = 300 }: { delay?: number } = {}) {
  const settled = useDebounced(text.trim(), delay);
  const query = useQuery({
    queryKey: ['screener', 'parse', settled] as const,
    queryFn: ({ signal }) => parseQuery(settled, signal),
    enabled: settled !== '',
    staleTime: Infinity,
    retry: false,
  });
  return { ...query, settled, pending: text.trim() !== settled || (settled !== '' && query.isFetching) };
}
