import { Field } from '@/components/ui/field';
import { Spinner } from '@/components/ui/spinner';
import { cn } from '@/lib/cn';
import { useQueryValidation } from '../api/validate-query';
import { queryProblemOf } from '../model/query-error';

/** The offending line with a caret under the column the parser named. */
function Caret({ text, line, column }: { text: string; line: number; column: number }) {
  const source = text.split('\n')[line - 1] ?? '';
  return (
    <pre className="overflow-x-auto rounded bg-slate-950 px-2 py-1 font-mono text-xs text-slate-300" data-testid="query-caret" aria-hidden="true">
      {source}
      {'\n'}
      <span className="text-rose-400">{`${' '.repeat(Math.max(0, column - 1))}^`}</span>
    </pre>
  );
}

/**
 * Query-language text, checked as it is typed by the screener's own parser (`POST /screens/parse`): the
 * canonical form when it reads, the error with its line and column (and a caret) when it does not.
 * `serverError`: the create request's refusal, shown when the text has not changed since.
 */
export function QueryEditor({ value, onChange, serverError }: { value: string; onChange: (text: string) => void; serverError?: string }) {
  const check = useQueryValidation(value);
  const problem = check.isError && !check.pending ? queryProblemOf(check.error) : null;
  const ok = check.data && !check.pending && !check.isError ? check.data : null;
  const error = problem ? `${problem.message.charAt(0).toUpperCase()}${problem.message.slice(1)}` : serverError;
  return (
    <Field
      label="Condition (query language)"
      error={error}
      hint="Any screener expression, e.g. rsi14 < 30 and volume > 2 * avg_volume_20. It fires when it becomes true."
    >
      {(control) => (
        <div className="flex flex-col gap-1">
          <textarea
            {...control}
            name="query"
            className={cn('input min-h-16 w-full py-1.5 font-mono text-sm', error && 'border-rose-600 hover:border-rose-500')}
            value={value}
            maxLength={4000}
            spellCheck={false}
            onChange={(e) => onChange(e.target.value)}
            data-testid="alert-query"
          />
          <div className="min-h-5 text-xs" aria-live="polite" data-testid="query-status">
            {check.pending && (
              <span className="flex items-center gap-1 text-slate-400">
                <Spinner /> Checking…
              </span>
            )}
            {ok && (
              <span className="text-emerald-300">
                Valid: <code className="font-mono">{ok.query}</code>
              </span>
            )}
            {problem && problem.line !== null && problem.column !== null && <Caret text={check.settled} line={problem.line} column={problem.column} />}
          </div>
        </div>
      )}
    </Field>
  );
}
