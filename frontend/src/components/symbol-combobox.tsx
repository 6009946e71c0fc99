import { forwardRef, useId, useImperativeHandle, useRef, useState, type KeyboardEvent } from 'react';
import { useSearchSecurities } from '@/api/search-securities';
import { Spinner } from '@/components/ui/spinner';
import { errorMessage } from '@/lib/api-client';
import { cn } from '@/lib/cn';
import { useDebounced } from '@/lib/use-debounced';

export interface SymbolComboboxProps {
  /** The accessible name (and the visible label when `showLabel`). */
  label: string;
  showLabel?: boolean;
  placeholder?: string;
  /** A result picked, or Enter on text that matches nothing (the API then says whether the symbol exists). */
  onSelect: (symbol: string) => void;
  /** Controlled text (a form field); otherwise the box keeps its own and clears it on select. */
  value?: string;
  onValueChange?: (text: string) => void;
  /** What Enter does on text without matches, e.g. `Press Enter to add “XYZ”.` */
  freeTextHint?: (symbol: string) => string;
  error?: string;
  name?: string;
  testId?: string;
  disabled?: boolean;
  className?: string;
  listClassName?: string;
  limit?: number;
}

/** Search-as-you-type over the securities search route, as an ARIA combobox (arrows, Enter, Escape). */
export const SymbolCombobox = forwardRef<HTMLInputElement | null, SymbolComboboxProps>(function SymbolCombobox(
  {
    label,
    showLabel = false,
    placeholder,
    onSelect,
    value,
    onValueChange,
    freeTextHint = (sym) => `No matches. Press Enter for “${sym}”.`,
    error,
    name,
    testId,
    disabled,
    className,
    listClassName,
    limit = 8,
  },
  ref,
) {
  const [ownText, setOwnText] = useState('');
  const controlled = value !== undefined;
  const text = controlled ? value : ownText;
  const setText = (next: string) => {
    if (!controlled) setOwnText(next);
    onValueChange?.(next);
  };
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const term = useDebounced(text.trim(), 150);
  const search = useSearchSecurities(term, limit);
  const id = useId();
  const listId = `${id}-list`;
  const errorId = `${id}-error`;
  const inputRef = useRef<HTMLInputElement | null>(null);
  useImperativeHandle(ref, () => inputRef.current as HTMLInputElement);

  const results = term ? (search.data?.data ?? []) : [];
  const showList = open && text.trim().length > 0;

  const pick = (symbol: string) => {
    const sym = symbol.trim().toUpperCase();
    if (!sym) return;
    setText(controlled ? sym : '');
    setOpen(false);
    onSelect(sym);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setOpen(true);
      setActive((i) => Math.min(i + 1, Math.max(results.length - 1, 0)));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((i) => Math.max(i - 1, 0));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      // The list may still show an earlier term's matches (debounce, previous data kept while fetching):
      // then Enter takes what was typed, not a stale highlight.
      const fresh = term === text.trim() && !search.isPlaceholderData;
      const typed = text.trim().toUpperCase();
      const hit = fresh ? results[active] : results.find((r) => r.symbol === typed);
      pick(hit && showList ? hit.symbol : text);
    } else if (e.key === 'Escape' && showList) {
      // Close the list only; a second Escape reaches the dialog around the box.
      e.stopPropagation();
      setOpen(false);
    }
  };

  return (
    <div className={cn('flex flex-col gap-1', className)}>
      {showLabel && (
        <label htmlFor={id} className="text-xs font-medium text-slate-300">
          {label}
        </label>
      )}
      <div className="relative">
        <svg viewBox="0 0 20 20" className="pointer-events-none absolute left-2.5 top-2 h-4 w-4 fill-slate-500" aria-hidden="true">
          <path d="M8.5 3a5.5 5.5 0 014.38 8.83l3.65 3.64a.75.75 0 11-1.06 1.06l-3.64-3.65A5.5 5.5 0 118.5 3zm0 1.5a4 4 0 100 8 4 4 0 000-8z" />
        </svg>
        <input
          ref={inputRef}
          id={id}
          name={name}
          type="search"
          role="combobox"
          aria-expanded={showList}
          aria-controls={listId}
          aria-autocomplete="list"
          aria-activedescendant={showList && results[active] ? `${listId}-${active}` : undefined}
          aria-label={showLabel ? undefined : label}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
          data-testid={testId}
          placeholder={placeholder}
          autoComplete="off"
          spellCheck={false}
          disabled={disabled}
          className={cn('input w-full pl-8', error && 'border-rose-600 hover:border-rose-500')}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setOpen(true);
            setActive(0);
          }}
          onFocus={() => setOpen(true)}
          onBlur={() => setTimeout(() => setOpen(false), 120)}
          onKeyDown={onKeyDown}
        />
        {showList && (
          <ul
            id={listId}
            role="listbox"
            aria-label={`${label}: matches`}
            className={cn(
              'absolute right-0 top-9 z-50 max-h-96 w-full overflow-y-auto rounded-md border border-slate-700 bg-slate-900 py-1 shadow-xl shadow-black/50',
              listClassName,
            )}
          >
            {search.isError ? (
              <li className="px-3 py-2 text-rose-300">{errorMessage(search.error)}</li>
            ) : results.length === 0 ? (
              <li className="flex items-center gap-2 px-3 py-2 text-slate-500">
                {search.isFetching || term !== text.trim() ? (
                  <>
                    <Spinner /> Searching…
                  </>
                ) : (
                  freeTextHint(text.trim().toUpperCase())
                )}
              </li>
            ) : (
              results.map((r, i) => (
                <li
                  key={r.symbol}
                  id={`${listId}-${i}`}
                  role="option"
                  aria-selected={i === active}
                  data-testid="search-option"
                  onMouseDown={(e) => e.preventDefault()}
                  onMouseEnter={() => setActive(i)}
                  onClick={() => pick(r.symbol)}
                  className={cn('flex cursor-pointer items-baseline gap-3 px-3 py-1.5', i === active && 'bg-slate-800')}
                >
                  <span className="w-14 flex-none font-semibold text-sky-400">{r.symbol}</span>
                  <span className="min-w-0 flex-1 truncate text-slate-200">{r.name}</span>
                  <span className="hidden flex-none truncate text-[11px] text-slate-500 sm:block">{r.sector}</span>
                </li>
              ))
            )}
          </ul>
        )}
      </div>
      {error && (
        <p id={errorId} className="text-xs text-rose-300">
          {error}
        </p>
      )}
    </div>
  );
});
