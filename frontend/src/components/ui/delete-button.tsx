import { TrashIcon } from './icons';

/** A small trash-can button for a row; `label` says what it deletes ("Remove AAPL"). */
export function DeleteButton({ label, onClick, title = 'Delete' }: { label: string; onClick: () => void; title?: string }) {
  return (
    <button type="button" className="btn-ghost h-7 w-7 p-0 hover:text-rose-300" aria-label={label} title={title} onClick={onClick}>
      <TrashIcon />
    </button>
  );
}
