import { useCallback, useEffect, useRef, useState } from 'react';
import { ArrowDownIcon, ArrowUpIcon } from './icons';

export type MoveDirection = 'up' | 'down';

/**
 * Move up / move down buttons for an item of an ordered list: the keyboard way to reorder. After a
 * move, focus follows the item (`focus` names the button to refocus once it has re-rendered; when that
 * one is now disabled, at the top or bottom, the other one takes it).
 */
export function ReorderButtons({
  name,
  index,
  count,
  onMove,
  focus,
  onFocused,
  disabled,
}: {
  /** The item's name in the buttons' labels: "Move AAPL up". */
  name: string;
  index: number;
  count: number;
  onMove: (direction: MoveDirection) => void;
  focus?: MoveDirection | null;
  onFocused?: () => void;
  disabled?: boolean;
}) {
  const up = useRef<HTMLButtonElement>(null);
  const down = useRef<HTMLButtonElement>(null);
  const first = index === 0;
  const last = index === count - 1;
  useEffect(() => {
    if (!focus) return;
    const wanted = focus === 'up' ? (first ? down : up) : last ? up : down;
    wanted.current?.focus();
    onFocused?.();
  }, [focus, first, last, onFocused]);
  return (
    <span className="inline-flex">
      <button
        ref={up}
        type="button"
        className="btn-ghost h-7 w-7 p-0"
        aria-label={`Move ${name} up`}
        title="Move up"
        disabled={disabled || first}
        onClick={() => onMove('up')}
      >
        <ArrowUpIcon />
      </button>
      <button
        ref={down}
        type="button"
        className="btn-ghost h-7 w-7 p-0"
        aria-label={`Move ${name} down`}
        title="Move down"
        disabled={disabled || last}
        onClick={() => onMove('down')}
      >
        <ArrowDownIcon />
      </button>
    </span>
  );
}

/** Which item's buttons take focus after a move, and the polite announcement of the new position. */
export function useMoveFocus() {
  const [target, setTarget] = useState<{ key: string; direction: MoveDirection; index: number } | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const clear = useCallback(() => setTarget(null), []);
  return {
    /** The button to refocus once the item shows at its new place (not before: the move may still be on its way). */
    focusFor: (key: string, index: number) => (target?.key === key && target.index === index ? target.direction : null),
    clear,
    moved: (key: string, direction: MoveDirection, index: number, message: string) => {
      setTarget({ key, direction, index });
      setAnnouncement(message);
    },
    announcement,
  };
}
