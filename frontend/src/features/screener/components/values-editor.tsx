import * as DropdownMenu from '@radix-ui/react-dropdown-menu';
import type { KeyboardEvent } from 'react';
import { GICS_SECTORS, type FilterRow } from '../stores/filter-model';
import { useScreenerStore } from '../stores/screener-store';

const SUGGESTIONS: Record<string, string[]> = { sector: GICS_SECTORS };

/** Multi-value editor for the "in" operator: chips + free text + (for known fields) a checklist. */
export function ValuesEditor({ row, invalid }: { row: FilterRow; invalid: boolean }) {
  const updateRow = useScreenerStore((s) => s.updateRow);
  const suggestions = SUGGESTIONS[row.field];

  const setValues = (values: string[]) => updateRow(row.id, { values });
  const commitText = () => {
    const text = row.value.trim();
    if (!text) return;
    const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
    updateRow(row.id, { values: Array.from(new Set([...row.values, ...parts])), value: '' });
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if ((e.key === 'Enter' || e.key === ',') && row.value.trim()) {
      e.preventDefault();
      commitText();
    } else if (e.key === 'Backspace' && !row.value && row.values.length > 0) {
      setValues(row.values.slice(0, -1));
    }
  };

  return (
    <div className="flex flex-wrap items-center gap-1.5">
      <div
        className={`flex min-h-8 min-w-[16rem] max-w-xl flex-wrap items-center gap-1 rounded-md border bg-slate-950/70 px-1.5 py-1 ${
          invalid ? 'border-rose-600' : 'border-slate-700'
        }`}
      >
        {row.values.map((v) => (
          <span key={v} className="chip">
            {v}
            <button
              type="button"
              aria-label={`Remove ${v}`}
              className="text-slate-400 hover:text-white"
              onClick={() => setValues(row.values.filter((x) => x !== v))}
            >
              ×
            </button>
          </span>
        ))}
        <input
          className="h-6 min-w-[6rem] flex-1 bg-transparent px-1 text-[13px] text-slate-100 placeholder:text-slate-500 focus:outline-none"
          placeholder={row.values.length ? 'Add…' : 'Type a value, Enter to add'}
          aria-label="Values"
          value={row.value}
          onChange={(e) => updateRow(row.id, { value: e.target.value })}
          onKeyDown={onKeyDown}
          onBlur={commitText}
        />
      </div>
      {suggestions && (
        <DropdownMenu.Root modal={false}>
          <DropdownMenu.Trigger className="btn-secondary h-8 px-2 text-xs" aria-label="Pick values">
            Pick…
          </DropdownMenu.Trigger>
          <DropdownMenu.Portal>
            <DropdownMenu.Content className="menu-content max-h-80 overflow-y-auto" sideOffset={4} align="start">
              {suggestions.map((s) => (
                <DropdownMenu.CheckboxItem
                  key={s}
                  className="menu-item"
                  checked={row.values.includes(s)}
                  onSelect={(e) => e.preventDefault()}
                  onCheckedChange={(checked) =>
                    setValues(checked ? [...row.values, s] : row.values.filter((x) => x !== s))
                  }
                >
                  <span className="flex h-3.5 w-3.5 items-center justify-center rounded-sm border border-slate-600">
                    <DropdownMenu.ItemIndicator className="h-2 w-2 rounded-[1px] bg-sky-400" />
                  </span>
                  {s}
                </DropdownMenu.CheckboxItem>
              ))}
            </DropdownMenu.Content>
          </DropdownMenu.Portal>
        </DropdownMenu.Root>
      )}
    </div>
  );
}
