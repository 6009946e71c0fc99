import type { ScreenerField, FieldGroup } from '@/types';
import { OP_LABELS, OPS_BY_TYPE, type FilterOp, type FilterRow } from '../stores/filter-model';
import { useScreenerStore } from '../stores/screener-store';
import { ValuesEditor } from './values-editor';

const GROUP_LABELS: Record<FieldGroup, string> = {
  descriptive: 'Descriptive',
  fundamental: 'Fundamental',
  technical: 'Technical',
};
const GROUP_ORDER: FieldGroup[] = ['descriptive', 'fundamental', 'technical'];

function unitHint(field: Pick<ScreenerField, 'id' | 'type' | 'unit'> | undefined): { prefix?: string; suffix?: string; placeholder: string } {
  if (!field) return { placeholder: 'Value' };
  if (field.type === 'date') return { placeholder: 'YYYY-MM-DD' };
  if (field.type === 'boolean') return { placeholder: 'yes / no' };
  switch (field.unit) {
    case 'usd':
      return { prefix: '$', placeholder: field.id.includes('cap') ? 'e.g. 10B' : 'e.g. 100' };
    case 'pct':
      return { suffix: '%', placeholder: 'e.g. 2.5' };
    case 'shares':
      return { placeholder: 'e.g. 5M' };
    default:
      return { placeholder: 'e.g. 20' };
  }
}

function ValueInput({
  value,
  onChange,
  hint,
  label,
  invalid,
}: {
  value: string;
  onChange: (v: string) => void;
  hint: ReturnType<typeof unitHint>;
  label: string;
  invalid: boolean;
}) {
  return (
    <div className="relative">
      {hint.prefix && <span className="pointer-events-none absolute left-2 top-1.5 text-slate-500">{hint.prefix}</span>}
      <input
        className={`input tabular w-32 ${hint.prefix ? 'pl-5' : ''} ${hint.suffix ? 'pr-6' : ''} ${invalid ? 'border-rose-600' : ''}`}
        value={value}
        inputMode="decimal"
        placeholder={hint.placeholder}
        aria-label={label}
        aria-invalid={invalid || undefined}
        onChange={(e) => onChange(e.target.value)}
      />
      {hint.suffix && <span className="pointer-events-none absolute right-2 top-1.5 text-slate-500">{hint.suffix}</span>}
    </div>
  );
}

export function FilterRowEditor({
  row,
  fields,
  fieldsById,
}: {
  row: FilterRow;
  fields: ScreenerField[];
  fieldsById: Map<string, ScreenerField>;
}) {
  const updateRow = useScreenerStore((s) => s.updateRow);
  const setRowField = useScreenerStore((s) => s.setRowField);
  const removeRow = useScreenerStore((s) => s.removeRow);
  const error = useScreenerStore((s) => s.rowErrors[row.id]);

  const field = fieldsById.get(row.field);
  const hint = unitHint(field ?? (row.field ? { id: row.field, type: row.fieldType, unit: null } : undefined));
  const ops = OPS_BY_TYPE[row.fieldType];
  const known = row.field === '' || fieldsById.has(row.field);

  return (
    <div data-testid="filter-row" className="flex flex-col gap-1">
      <div className="flex flex-wrap items-center gap-2">
        <select
          className="select w-56"
          aria-label="Field"
          value={row.field}
          onChange={(e) => {
            const next = fieldsById.get(e.target.value);
            if (next) setRowField(row.id, next.id, next.type);
          }}
        >
          <option value="" disabled>
            Choose a field…
          </option>
          {!known && <option value={row.field}>{row.field}</option>}
          {GROUP_ORDER.map((group) => {
            const items = fields.filter((f) => f.group === group);
            if (items.length === 0) return null;
            return (
              <optgroup key={group} label={GROUP_LABELS[group]}>
                {items.map((f) => (
                  <option key={f.id} value={f.id}>
                    {f.label}
                    {f.unit === 'pct' ? ' (%)' : ''}
                    {f.roles && !f.roles.includes('free') ? ' \u2605 premium' : ''}
                  </option>
                ))}
              </optgroup>
            );
          })}
        </select>

        <select
          className="select w-32"
          aria-label="Operator"
          value={row.op}
          disabled={!row.field}
          onChange={(e) => updateRow(row.id, { op: e.target.value as FilterOp })}
        >
          {ops.map((op) => (
            <option key={op} value={op}>
              {OP_LABELS[op]}
            </option>
          ))}
        </select>

        {row.op === 'in' ? (
          <ValuesEditor row={row} invalid={Boolean(error)} />
        ) : row.op === 'between' ? (
          <div className="flex items-center gap-2">
            <ValueInput label="Lower bound" value={row.value} hint={hint} invalid={Boolean(error)} onChange={(v) => updateRow(row.id, { value: v })} />
            <span className="text-slate-500">and</span>
            <ValueInput label="Upper bound" value={row.valueTo} hint={hint} invalid={Boolean(error)} onChange={(v) => updateRow(row.id, { valueTo: v })} />
          </div>
        ) : (
          <ValueInput label="Value" value={row.value} hint={hint} invalid={Boolean(error)} onChange={(v) => updateRow(row.id, { value: v })} />
        )}

        <button
          type="button"
          className="btn-ghost h-8 w-8 px-0"
          aria-label="Remove filter"
          title="Remove filter"
          onClick={() => removeRow(row.id)}
        >
          <svg viewBox="0 0 16 16" className="h-3.5 w-3.5" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" aria-hidden="true">
            <path d="M4 4l8 8M12 4l-8 8" />
          </svg>
        </button>
      </div>
      {error && (
        <p className="pl-1 text-xs text-rose-400" role="status">
          {error}
        </p>
      )}
    </div>
  );
}
