import { useEffect, useRef } from 'react';
import { useNavigate } from 'react-router-dom';
import { SymbolCombobox } from '@/components/symbol-combobox';

/** The header's search: pick a symbol (or type one and press Enter) to open its page; "/" focuses it. */
export function SymbolSearch() {
  const navigate = useNavigate();
  const inputRef = useRef<HTMLInputElement | null>(null);

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

  return (
    <SymbolCombobox
      ref={inputRef}
      label="Search symbol or company"
      placeholder="Search symbol or company  ( / )"
      testId="symbol-search"
      listClassName="min-w-[26rem]"
      freeTextHint={(sym) => `No matches. Press Enter to open “${sym}”.`}
      onSelect={(sym) => {
        inputRef.current?.blur();
        navigate(`/stocks/${encodeURIComponent(sym)}`);
      }}
    />
  );
}
