import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { Spinner } from '@/components/ui/spinner';
import { errorMessage } from '@/lib/api-client';
import { cn } from '@/lib/cn';
import { useSearchSecurities } from '../api/search-securities';

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return debounced;
}

export function SymbolSearch() {
  const [text, setText] = useState('');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const term = useDebounced(text.trim(), 150);
  const search = useSearchSecurities(term, 8);
  const navigate = useNavigate();
  const listId = useId();
  const inputRef = useRef<HTMLInputElement | null>(null);

  const results = term ? (search.data?.data ?? []) : [];
  const showList = open && text.trim().length > 0;

  // Global "/" shortcut focuses the search box.
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (e.key === '/' && target && !['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)) {
        e.preventDefault();
        inputRef.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const go = (symbol: string) => {
    const sym = symbol.trim().toUpperCase();
    if (!sym) return;
    setText('');
    setOpen(false);
    inputRef.current?.blur();
    navigate(`/stocks/${encodeURIComponent(sym)}`);
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
      const pick = results[active];
      go(pick && showList ? pick.symbol : text);
    } else if (e.key === 'Escape') {
      setOpen(false);
    }
  };

  return (
    <div className="relative">
      <svg viewBox="0 0 20 20" className="pointer-events-none absolute left-2.5 top-2 h-4 w-4 fill-slate-500" aria-hidden="true">
        <path d="M8.5 3a5.5 5.5 0 014.38 8.83l3.65 3.64a.75.75 0 11-1.06 1.06l-3.64-3.65A5.5 5.5 0 118.5 3zm0 1.5a4 4 0 100 8 4 4 0 000-8z" />
      </svg>
      <input
        ref={inputRef}
        type="search"
        role="combobox"
        aria-expanded={showList}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={showList && results[active] ? `${listId}-${active}` : undefined}
        aria-label="Search symbol or company"
        data-testid="symbol-search"
        placeholder="Search symbol or company  ( / )"
        autoComplete="off"
        spellCheck={false}
        className="input w-full pl-8"
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
          className="absolute right-0 top-9 z-50 max-h-96 w-full min-w-[26rem] overflow-y-auto rounded-md border border-slate-700 bg-slate-900 py-1 shadow-xl shadow-black/50"
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
                <>No matches. Press Enter to open “{text.trim().toUpperCase()}”.</>
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
                onClick={() => go(r.symbol)}
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
  );
}
