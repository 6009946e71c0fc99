import { forwardRef, type InputHTMLAttributes } from 'react';
import { cn } from '@/lib/cn';
import { Field, type FieldProps } from './field';

type Props = Omit<InputHTMLAttributes<HTMLInputElement>, 'id'> & FieldProps;

/** A labelled input with its hint and error wired to aria-describedby. */
export const TextField = forwardRef<HTMLInputElement, Props>(function TextField({ label, hint, error, className, ...input }, ref) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(control) => (
        <input ref={ref} {...control} className={cn('input h-9 w-full', error && 'border-rose-600 hover:border-rose-500', className)} {...input} />
      )}
    </Field>
  );
});
