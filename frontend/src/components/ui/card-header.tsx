import { forwardRef, type ComponentPropsWithoutRef, type ReactNode } from 'react';
import { cn } from '@/lib/cn';

/**
 * The header row of a card: its heading (the card's `aria-labelledby` target), then whatever
 * follows it on the row (a count, a spinner, actions). `level` 1 for a page's own heading.
 */
export const CardHeader = forwardRef<
  HTMLHeadingElement,
  {
    id: string;
    title: ReactNode;
    level?: 1 | 2;
    /** The row's spacing and wrapping, when not the default `flex items-center gap-2`. */
    className?: string;
    /** Classes added to the heading (e.g. `whitespace-nowrap`). */
    headingClassName?: string;
    /** Makes the heading a focus target (focus is moved there after a dialog, say). */
    focusable?: boolean;
    children?: ReactNode;
  }
>(function CardHeader({ id, title, level = 2, className, headingClassName, focusable = false, children }, ref) {
  const Heading = level === 1 ? 'h1' : 'h2';
  return (
    <div className={cn('flex items-center border-b border-slate-800 px-3 py-2', className ?? 'gap-2')}>
      <Heading
        id={id}
        ref={ref}
        tabIndex={focusable ? -1 : undefined}
        className={cn(
          level === 1 ? 'text-base font-semibold text-slate-50' : 'text-sm font-semibold text-slate-100',
          focusable && 'focus:outline-none',
          headingClassName,
        )}
      >
        {title}
      </Heading>
      {children}
    </div>
  );
});

/** A small count beside a heading ("3", "2 active"). */
export function CountBadge({ className, ...props }: ComponentPropsWithoutRef<'span'>) {
  return <span className={cn('tabular whitespace-nowrap rounded bg-slate-800 px-1.5 py-0.5 text-xs text-slate-300', className)} {...props} />;
}
