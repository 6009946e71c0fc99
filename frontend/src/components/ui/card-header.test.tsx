import { render, screen } from '@testing-library/react';
import { createRef } from 'react';
import { describe, expect, it } from 'vitest';
import { CardHeader, CountBadge } from './card-header';

describe('CardHeader', () => {
  it('labels its card with a heading of the given level, followed by the row', () => {
    render(
      <section aria-labelledby="things-heading">
        <CardHeader id="things-heading" level={1} title="Things">
          <CountBadge data-testid="count">3</CountBadge>
        </CardHeader>
      </section>,
    );
    expect(screen.getByRole('heading', { level: 1, name: 'Things' })).toHaveAttribute('id', 'things-heading');
    expect(screen.getByRole('region', { name: 'Things' })).toContainElement(screen.getByTestId('count'));
    expect(screen.getByTestId('count')).toHaveTextContent('3');
  });

  it('is a level-2 heading by default, focusable only when asked, with its ref on the heading', () => {
    const ref = createRef<HTMLHeadingElement>();
    const { rerender } = render(<CardHeader id="a" title="Plain" />);
    expect(screen.getByRole('heading', { level: 2, name: 'Plain' })).not.toHaveAttribute('tabindex');
    rerender(<CardHeader id="a" title="Focus me" ref={ref} focusable />);
    const heading = screen.getByRole('heading', { level: 2, name: 'Focus me' });
    expect(heading).toHaveAttribute('tabindex', '-1');
    expect(ref.current).toBe(heading);
    ref.current?.focus();
    expect(heading).toHaveFocus();
  });
});
