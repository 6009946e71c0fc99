import type { ComponentProps } from 'react';
import { TextField } from '@/components/ui/text-field';

type Props = Omit<ComponentProps<typeof TextField>, 'inputMode' | 'autoComplete' | 'onChange' | 'value'> & {
  value: string;
  /** the field's text as typed (the form parses it on submit) */
  onValue: (value: string) => void;
  /** whole numbers only (a numeric keypad without a decimal point) */
  integer?: boolean;
};

/** A number typed as text (the draft keeps what was typed; the form checks it), with the keypad for numbers. */
export function NumberField({ onValue, integer = false, ...field }: Props) {
  return <TextField inputMode={integer ? 'numeric' : 'decimal'} autoComplete="off" onChange={(e) => onValue(e.target.value)} {...field} />;
}
