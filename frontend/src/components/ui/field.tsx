import { useId, type ReactNode } from 'react';

/** What a form control needs to be tied to its label, error and hint. */
export interface FieldControlProps {
  id: string;
  'aria-invalid': true | undefined;
  'aria-describedby': string | undefined;
}

/** The label, hint and error of a field, as TextField and SelectField take them. */
export interface FieldProps {
  label: string;
  hint?: string;
  error?: string;
}

/**
 * A label above one form control, its error and hint below it: the control gets the id the label points at,
 * `aria-invalid` while there is an error, and `aria-describedby` naming the error, then the hint.
 */
export function Field({
  label,
  hint,
  error,
  children,
}: FieldProps & {
  /** The control, given the props that wire it to the label, error and hint. */
  children: (control: FieldControlProps) => ReactNode;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [error ? errorId : null, hint ? hintId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-xs font-medium text-slate-300">
        {label}
      </label>
      {children({ id, 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy })}
      {error && (
        <p id={errorId} className="text-xs text-rose-300">
          {error}
        </p>
      )}
      {hint && (
        <p id={hintId} className="text-xs text-slate-500">
          {hint}
        </p>
      )}
    </div>
  );
}
