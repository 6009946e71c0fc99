import { ApiError, errorMessage } from '@/lib/api-client';

export function ErrorAlert({ error, title, onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  const requestId = error instanceof ApiError ? error.requestId : undefined;
  return (
    <div role="alert" data-testid="error-alert" className="flex items-start gap-3 rounded-md border border-rose-900/70 bg-rose-950/40 px-3 py-2.5 text-rose-200">
      <svg viewBox="0 0 20 20" className="mt-0.5 h-4 w-4 flex-none fill-rose-400" aria-hidden="true">
        <path d="M10 2a8 8 0 100 16 8 8 0 000-16zm-.75 4.5a.75.75 0 011.5 0v4a.75.75 0 01-1.5 0v-4zM10 14.5a1 1 0 110-2 1 1 0 010 2z" />
      </svg>
      <div className="min-w-0 flex-1">
        {title && <p className="font-medium text-rose-100">{title}</p>}
        <p className="break-words">{errorMessage(error)}</p>
        {requestId && <p className="mt-0.5 font-mono text-[11px] text-rose-300/60">request id {requestId}</p>}
      </div>
      {onRetry && (
        <button type="button" onClick={onRetry} className="btn h-7 border border-rose-800 px-2 text-rose-100 hover:bg-rose-900/50">
          Retry
        </button>
      )}
    </div>
  );
}
