import { useEffect, useState, type FormEvent } from 'react';
import { SymbolCombobox } from '@/components/symbol-combobox';
import { DialogClose, Modal } from '@/components/ui/dialog';
import { SelectField } from '@/components/ui/select-field';
import { Spinner } from '@/components/ui/spinner';
import { TextField } from '@/components/ui/text-field';
import type { ApiError } from '@/lib/api-client';
import { describeFormError } from '@/lib/form-errors';
import type { TransactionCreate } from '../api/add-transaction';
import type { TransactionKind } from '../api/keys';

const FIELDS = ['kind', 'symbol', 'date', 'quantity', 'price', 'fees'] as const;
type Field = (typeof FIELDS)[number];

export const KIND_LABELS: Record<TransactionKind, string> = { buy: 'Buy', sell: 'Sell', dividend: 'Dividend', split: 'Split' };

function today(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** Model-level rules come back without a field in `loc`: place them by what they are about. */
function locate({ msg }: { msg: string }): Field | undefined {
  if (/future/.test(msg) || /\bdate\b/.test(msg)) return 'date';
  if (/ratio|split/.test(msg)) return 'quantity';
  if (/price/.test(msg)) return 'price';
  return undefined;
}

/** Refusals about one field: an unknown symbol, a sell of more than is held. */
function fieldOf(error: ApiError): Field | undefined {
  const d = error.details as { held?: unknown; symbol?: unknown } | null | undefined;
  if (d && typeof d === 'object' && 'held' in d) return 'quantity';
  if (d && typeof d === 'object' && 'symbol' in d) return 'symbol';
  return undefined;
}

const clean = (text: string) => text.trim().replace(/[,\s$]/g, '');

/** Add a buy, sell, dividend or split; the API's refusals show on the fields they are about. */
export function TransactionDialog({
  open,
  onOpenChange,
  pending,
  error,
  onSubmit,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  pending: boolean;
  error: unknown;
  onSubmit: (body: TransactionCreate) => void;
}) {
  const [kind, setKind] = useState<TransactionKind>('buy');
  const [symbol, setSymbol] = useState('');
  const [date, setDate] = useState(today);
  const [quantity, setQuantity] = useState('');
  const [price, setPrice] = useState('');
  const [fees, setFees] = useState('');
  const [local, setLocal] = useState<Partial<Record<Field, string>>>({});

  useEffect(() => {
    if (open) {
      setKind('buy');
      setSymbol('');
      setDate(today());
      setQuantity('');
      setPrice('');
      setFees('');
      setLocal({});
    }
  }, [open]);

  const view = error ? describeFormError(error, FIELDS, { locate, fieldOf }) : null;
  const fieldError = (f: Field) => local[f] ?? view?.fields[f];
  const split = kind === 'split';

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const missing: Partial<Record<Field, string>> = {};
    if (!symbol.trim()) missing.symbol = 'Enter a symbol.';
    if (!date) missing.date = 'Enter the date.';
    if (!clean(quantity)) missing.quantity = split ? 'Enter the split ratio.' : 'Enter the number of shares.';
    if (!split && !clean(price)) missing.price = 'Enter the price.';
    setLocal(missing);
    if (Object.keys(missing).length > 0 || pending) return;
    onSubmit({
      kind,
      symbol: symbol.trim().toUpperCase(),
      date,
      quantity: clean(quantity),
      price: split ? '0' : clean(price),
      fees: split ? '0' : clean(fees) || '0',
    });
  };

  return (
    <Modal open={open} onOpenChange={onOpenChange} title="Add transaction" testId="transaction-dialog">
      <form onSubmit={submit} noValidate className="flex flex-col gap-3">
        {view && (
          <p role="alert" className="rounded-md border border-rose-900/70 bg-rose-950/40 px-3 py-2 text-rose-200" data-testid="transaction-error">
            {Object.keys(view.fields).length > 0 && !view.fields.kind ? 'The transaction was not added: see below.' : view.message}
          </p>
        )}
        <SelectField label="Type" name="kind" value={kind} onChange={(e) => setKind(e.target.value as TransactionKind)}>
          {(Object.keys(KIND_LABELS) as TransactionKind[]).map((k) => (
            <option key={k} value={k}>
              {KIND_LABELS[k]}
            </option>
          ))}
        </SelectField>
        <SymbolCombobox
          label="Symbol"
          showLabel
          name="symbol"
          value={symbol}
          onValueChange={setSymbol}
          onSelect={setSymbol}
          error={fieldError('symbol')}
          testId="transaction-symbol"
          freeTextHint={(sym) => `No matches for “${sym}”.`}
        />
        <div className="grid grid-cols-2 gap-3">
          <TextField label="Date" name="date" type="date" value={date} max={today()} onChange={(e) => setDate(e.target.value)} error={fieldError('date')} />
          <TextField
            label={split ? 'Ratio (new shares per old)' : kind === 'dividend' ? 'Shares held' : 'Quantity'}
            name="quantity"
            inputMode="decimal"
            autoComplete="off"
            value={quantity}
            onChange={(e) => setQuantity(e.target.value)}
            error={fieldError('quantity')}
          />
          {!split && (
            <>
              <TextField
                label={kind === 'dividend' ? 'Amount per share' : 'Price per share'}
                name="price"
                inputMode="decimal"
                autoComplete="off"
                value={price}
                onChange={(e) => setPrice(e.target.value)}
                error={fieldError('price')}
              />
              <TextField
                label="Fees"
                name="fees"
                inputMode="decimal"
                autoComplete="off"
                placeholder="0"
                value={fees}
                onChange={(e) => setFees(e.target.value)}
                error={fieldError('fees')}
              />
            </>
          )}
        </div>
        {split && <p className="text-xs text-slate-500">A split has no price or fees: 2 for a 2-for-1 split, 0.5 for a 1-for-2 reverse split.</p>}
        <div className="flex justify-end gap-2">
          <DialogClose className="btn-ghost">Cancel</DialogClose>
          <button type="submit" className="btn-primary" disabled={pending} data-testid="transaction-submit">
            {pending && <Spinner className="text-white" />}
            Add {KIND_LABELS[kind].toLowerCase()}
          </button>
        </div>
      </form>
    </Modal>
  );
}
