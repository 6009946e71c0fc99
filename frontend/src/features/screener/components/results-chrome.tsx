// Pieces of a results card shared by the screener and the shared-screen page.

/** "123 stocks", or what there is instead (live region: the count is announced when it changes). */
export function ResultCount({ count, isError }: { count: number | undefined; isError: boolean }) {
  return (
    <span data-testid="result-count" className="tabular rounded bg-slate-800 px-2 py-0.5 text-xs font-medium text-slate-200" aria-live="polite">
      {count !== undefined ? `${count.toLocaleString('en-US')} ${count === 1 ? 'stock' : 'stocks'}` : isError ? 'No results' : 'Loading…'}
    </span>
  );
}

export function Pagination({ page, pages, onPage }: { page: number; pages: number; onPage: (page: number) => void }) {
  return (
    <nav className="flex items-center gap-2" aria-label="Pagination">
      <button type="button" className="btn-secondary h-7 px-2" disabled={page === 0} onClick={() => onPage(page - 1)} data-testid="prev-page">
        ← Prev
      </button>
      <span className="tabular">
        Page {Math.min(page + 1, pages)} of {pages}
      </span>
      <button type="button" className="btn-secondary h-7 px-2" disabled={page + 1 >= pages} onClick={() => onPage(page + 1)} data-testid="next-page">
        Next →
      </button>
    </nav>
  );
}
