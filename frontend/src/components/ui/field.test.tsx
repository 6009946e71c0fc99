import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createRef } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { SelectField } from './select-field';
import { TextField } from './text-field';

const OPTIONS = (
  <>
    <option value="a">Alpha</option>
    <option value="b">Beta</option>
  </>
);

/** Each field as its users render it, and the role its control has. */
const FIELDS = [
  {
    name: 'TextField',
    role: 'textbox',
    tag: 'INPUT',
    render: (props: { error?: string; hint?: string }) => <TextField label="Price" name="price" defaultValue="" {...props} />,
  },
  {
    name: 'SelectField',
    role: 'combobox',
    tag: 'SELECT',
    render: (props: { error?: string; hint?: string }) => (
      <SelectField label="Price" name="price" defaultValue="a" {...props}>
        {OPTIONS}
      </SelectField>
    ),
  },
] as const;

describe.each(FIELDS)('$name', ({ role, tag, render: field }) => {
  it('is labelled by its label and valid without an error', () => {
    render(field({}));
    const control = screen.getByRole(role, { name: 'Price' });
    expect(control.tagName).toBe(tag);
    expect(screen.getByLabelText('Price')).toBe(control);
    expect(control).toHaveAttribute('name', 'price');
    expect(control).not.toHaveAttribute('aria-invalid');
    expect(control).not.toHaveAttribute('aria-describedby');
    expect(control).toBeValid();
  });

  it('shows its error, marks the control invalid and describes it by the error', () => {
    render(field({ error: 'Enter a price.' }));
    const control = screen.getByRole(role, { name: 'Price' });
    const error = screen.getByText('Enter a price.');
    expect(control).toHaveAttribute('aria-invalid', 'true');
    expect(control).toBeInvalid();
    expect(control).toHaveAttribute('aria-describedby', error.id);
    expect(control).toHaveAccessibleDescription('Enter a price.');
  });

  it('describes the control by the error first, then the hint', () => {
    render(field({ error: 'Too high.', hint: 'In dollars.' }));
    const control = screen.getByRole(role, { name: 'Price' });
    expect(control).toHaveAccessibleDescription('Too high. In dollars.');
    expect(control.getAttribute('aria-describedby')).toBe(`${screen.getByText('Too high.').id} ${screen.getByText('In dollars.').id}`);
  });

  it('gives each field its own ids', () => {
    render(
      <>
        {field({ error: 'First.' })}
        {field({ error: 'Second.' })}
      </>,
    );
    const [a, b] = screen.getAllByRole(role, { name: 'Price' });
    expect(a!.id).not.toBe(b!.id);
    expect(a).toHaveAccessibleDescription('First.');
    expect(b).toHaveAccessibleDescription('Second.');
  });
});

describe('SelectField', () => {
  it('lists its options, reports the choice and forwards its ref', async () => {
    const onChange = vi.fn((e: { target: { value: string } }) => e.target.value);
    const ref = createRef<HTMLSelectElement>();
    render(
      <SelectField ref={ref} label="Kind" value="a" onChange={onChange}>
        {OPTIONS}
      </SelectField>,
    );
    const select = screen.getByRole('combobox', { name: 'Kind' });
    expect(ref.current).toBe(select);
    expect(screen.getAllByRole('option').map((o) => o.textContent)).toEqual(['Alpha', 'Beta']);
    await userEvent.selectOptions(select, 'Beta');
    expect(onChange).toHaveReturnedWith('b');
  });
});

describe('TextField', () => {
  it('forwards its ref and keeps the caller’s class after its own', () => {
    const ref = createRef<HTMLInputElement>();
    render(<TextField ref={ref} label="Name" className="font-mono" error="Required." />);
    const input = screen.getByRole('textbox', { name: 'Name' });
    expect(ref.current).toBe(input);
    expect(input).toHaveClass('input', 'h-9', 'w-full', 'border-rose-600', 'font-mono');
  });
});
