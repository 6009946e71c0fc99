import { forwardRef, type SelectHTMLAttributes } from 'react';
import { cn } from '@/lib/cn';
import { Field, type FieldProps } from './field';

type Props = Omit<SelectHTMLAttributes<HTMLSelectElement>, 'id'> & FieldProps;

/** A labelled select with its hint and error wired to aria-describedby (the options are its children). */
export const SelectField = forwardRef<HTMLSelectElement, Props>(function SelectField({ label, hint, error, className, children, ...select }, ref) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(control) => (
        <select ref={ref} {...control} className={cn('select h-9', className)} {...select}>
          {children}
        </select>
      )}
    </Field>
  );
});
