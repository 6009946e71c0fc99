import { useEffect, useRef, useState, type ReactNode } from 'react';
import { cn } from '@/lib/cn';

/** Shows `children`, flashing green or red for a moment when `value` goes up or down (not on first render). */
export function FlashValue({ value, children, className }: { value: number | null | undefined; children: ReactNode; className?: string }) {
  const prev = useRef(value);
  const [flash, setFlash] = useState<{ dir: 'up' | 'down'; n: number } | null>(null);
  useEffect(() => {
    const before = prev.current;
    prev.current = value;
    if (typeof before !== 'number' || typeof value !== 'number' || before === value) return;
    setFlash((f) => ({ dir: value > before ? 'up' : 'down', n: (f?.n ?? 0) + 1 }));
  }, [value]);
  return (
    <span
      // A new key restarts the animation on every change.
      key={flash?.n ?? 0}
      data-flash={flash?.dir}
      className={cn('rounded px-0.5', flash && (flash.dir === 'up' ? 'flash-up' : 'flash-down'), className)}
    >
      {children}
    </span>
  );
}
