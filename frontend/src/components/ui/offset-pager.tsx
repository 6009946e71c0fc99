/** "51–100 of 230  ‹ Previous  Next ›" for an offset-paged list; nothing when one page holds it all. */
export function OffsetPager({
  offset,
  pageSize,
  count,
  onOffset,
  previous = 'Previous',
  next = 'Next',
}: {
  offset: number;
  pageSize: number;
  count: number;
  onOffset: (offset: number) => void;
  previous?: string;
  next?: string;
}) {
  if (count <= pageSize) return null;
  return (
    <nav className="flex items-center justify-end gap-2 border-t border-slate-800 px-3 py-2 text-xs text-slate-400" aria-label="Pages">
      <span className="tabular">
        {offset + 1}–{Math.min(offset + pageSize, count)} of {count}
      </span>
      <button type="button" className="btn-ghost h-7" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - pageSize))}>
        {previous}
      </button>
      <button type="button" className="btn-ghost h-7" disabled={offset + pageSize >= count} onClick={() => onOffset(offset + pageSize)}>
        {next}
      </button>
    </nav>
  );
}
