import { useState } from 'react';
import { NavLink, useNavigate } from 'react-router-dom';
import { ErrorAlert } from '@/components/ui/error-alert';
import { CollectionDialogs, useCollectionDialog } from '@/components/ui/collection-dialogs';
import { ConfirmDeleteDialog } from '@/components/ui/name-dialog';
import { OffsetPager } from '@/components/ui/offset-pager';
import { Spinner } from '@/components/ui/spinner';
import { toast } from '@/components/ui/toast-store';
import { useLiveQuotes } from '@/features/live/use-live-quotes';
import { cn } from '@/lib/cn';
import { changeClass, formatPrice } from '@/lib/format';
import { useSelectFirst } from '@/lib/use-select-first';
import { useAddTransaction } from '../api/add-transaction';
import { useCreatePortfolio } from '../api/create-portfolio';
import { useDeletePortfolio } from '../api/delete-portfolio';
import { useDeleteTransaction } from '../api/delete-transaction';
import { usePortfolio } from '../api/get-portfolio';
import type { Portfolio, PortfolioSummary, Transaction } from '../api/keys';
import { usePortfolios } from '../api/list-portfolios';
import { TRANSACTIONS_PAGE, useTransactions } from '../api/list-transactions';
import { useRenamePortfolio } from '../api/rename-portfolio';
import { HoldingsTable, liveHolding, totalsOf } from './holdings-table';
import { PerformancePanel } from './performance-chart';
import { TransactionDialog } from './transaction-dialog';
import { TransactionsTable } from './transactions-table';


function Stat({ label, value, tone, testId }: { label: string; value: string; tone?: string; testId?: string }) {
  return (
    <div className="flex flex-col">
      <dt className="text-[11px] uppercase tracking-wide text-slate-500">{label}</dt>
      <dd className={cn('tabular text-lg font-semibold', tone ?? 'text-slate-100')} data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}

const signed = (v: number) => `${v > 0 ? '+' : ''}${formatPrice(v)}`;

function TransactionsPanel({ portfolioId, onAdd }: { portfolioId: string; onAdd: () => void }) {
  const [offset, setOffset] = useState(0);
  const txns = useTransactions(portfolioId, offset);
  const remove = useDeleteTransaction();
  const [target, setTarget] = useState<Transaction | null>(null);
  const count = txns.data?.count ?? 0;
  return (
    <section className="card flex flex-col" aria-labelledby="transactions-heading">
      <div className="flex items-center gap-2 border-b border-slate-800 px-3 py-2">
        <h2 id="transactions-heading" className="text-sm font-semibold text-slate-100">
          Transactions
        </h2>
        <span className="tabular rounded bg-slate-800 px-1.5 py-0.5 text-xs text-slate-300">{count}</span>
        {txns.isFetching && <Spinner />}
        <button type="button" className="btn-primary ml-auto h-7 px-2.5 text-xs" onClick={onAdd} data-testid="add-transaction">
          Add transaction
        </button>
      </div>
      {txns.isError && (
        <div className="p-3">
          <ErrorAlert title="Could not load the transactions" error={txns.error} onRetry={() => void txns.refetch()} />
        </div>
      )}
      {txns.data && txns.data.data.length === 0 && <p className="px-3 py-6 text-slate-500">No transactions yet.</p>}
      {txns.data && txns.data.data.length > 0 && <TransactionsTable transactions={txns.data.data} onDelete={(t) => (remove.reset(), setTarget(t))} />}
      <OffsetPager offset={offset} pageSize={TRANSACTIONS_PAGE} count={count} onOffset={setOffset} />
      <ConfirmDeleteDialog
        open={target !== null}
        onOpenChange={(open) => !open && setTarget(null)}
        title="Delete this transaction?"
        description={target ? `The ${target.kind} of ${target.quantity} ${target.symbol} on ${target.date} will be deleted; holdings and P&L are recomputed.` : ''}
        pending={remove.isPending}
        error={remove.error}
        errorTitle="The transaction could not be deleted"
        testId="delete-transaction-dialog"
        onConfirm={() => target && remove.mutate({ id: portfolioId, txnId: target.id }, { onSuccess: () => setTarget(null) })}
      />
    </section>
  );
}

function PortfolioDetail({ portfolio, onRename, onDelete }: { portfolio: Portfolio; onRename: () => void; onDelete: () => void }) {
  const add = useAddTransaction();
  const [adding, setAdding] = useState(false);
  const open = portfolio.holdings.filter((h) => h.quantity > 0).map((h) => h.symbol);
  const { quotes } = useLiveQuotes(open);
  const holdings = portfolio.holdings.map((h) => liveHolding(h, quotes.get(h.symbol)));
  const totals = quotes.size > 0 ? totalsOf(holdings) : portfolio.totals;

  return (
    <div className="flex min-w-0 flex-col gap-4" data-testid="portfolio-detail">
      <section className="card flex flex-col gap-3 px-4 py-3" aria-labelledby="portfolio-title">
        <div className="flex flex-wrap items-center gap-2">
          <h1 id="portfolio-title" className="text-base font-semibold text-slate-50">
            {portfolio.name}
          </h1>
          <span className="text-xs text-slate-500">
            {portfolio.transaction_count} {portfolio.transaction_count === 1 ? 'transaction' : 'transactions'}
          </span>
          <div className="ml-auto flex gap-1">
            <button type="button" className="btn-ghost h-7 px-2 text-xs" onClick={onRename}>
              Rename
            </button>
            <button type="button" className="btn-ghost h-7 px-2 text-xs hover:text-rose-300" onClick={onDelete} data-testid="delete-portfolio">
              Delete
            </button>
          </div>
        </div>
        <dl className="grid grid-cols-2 gap-x-6 gap-y-2 sm:grid-cols-3 lg:grid-cols-5">
          <Stat label="Market value" value={formatPrice(totals.market_value)} testId="total-value" />
          <Stat label="Cost basis" value={formatPrice(totals.cost_basis)} />
          <Stat label="Unrealised P&L" value={signed(totals.unrealised_pnl)} tone={changeClass(totals.unrealised_pnl)} testId="total-unrealised" />
          <Stat label="Realised P&L" value={signed(totals.realised_pnl)} tone={changeClass(totals.realised_pnl)} />
          <Stat label="Dividends" value={formatPrice(totals.dividends)} />
        </dl>
      </section>

      <section className="card flex flex-col" aria-labelledby="holdings-heading">
        <div className="border-b border-slate-800 px-3 py-2">
          <h2 id="holdings-heading" className="text-sm font-semibold text-slate-100">
            Holdings
          </h2>
        </div>
        {holdings.length === 0 ? (
          <div className="flex flex-col items-center gap-3 px-3 py-10 text-center text-slate-500">
            <p>No holdings yet. Add a buy to start tracking this portfolio.</p>
            <button type="button" className="btn-secondary" onClick={() => (add.reset(), setAdding(true))}>
              Add a buy
            </button>
          </div>
        ) : (
          <HoldingsTable holdings={holdings} totals={totals} />
        )}
      </section>

      <PerformancePanel portfolioId={portfolio.id} hasTransactions={portfolio.transaction_count > 0} />
      <TransactionsPanel portfolioId={portfolio.id} onAdd={() => (add.reset(), setAdding(true))} />

      <TransactionDialog
        open={adding}
        onOpenChange={setAdding}
        pending={add.isPending}
        error={add.error}
        onSubmit={(body) =>
          add.mutate(
            { id: portfolio.id, body },
            {
              onSuccess: (t) => {
                setAdding(false);
                toast({ title: `${t.kind[0]!.toUpperCase()}${t.kind.slice(1)} of ${t.quantity} ${t.symbol} added`, tone: 'success' });
              },
            },
          )
        }
      />
    </div>
  );
}

function PortfolioList({ portfolios, onCreate }: { portfolios: PortfolioSummary[]; onCreate: () => void }) {
  return (
    <nav aria-labelledby="portfolios-heading" className="card flex flex-col lg:sticky lg:top-16 lg:self-start">
      <div className="flex items-center gap-2 border-b border-slate-800 px-3 py-2">
        <h2 id="portfolios-heading" className="text-sm font-semibold text-slate-100">
          Portfolios
        </h2>
        <span className="tabular rounded bg-slate-800 px-1.5 py-0.5 text-xs text-slate-300">{portfolios.length}</span>
        <button type="button" className="btn-primary ml-auto h-7 px-2.5 text-xs" onClick={onCreate} data-testid="new-portfolio">
          New portfolio
        </button>
      </div>
      <ul className="flex flex-col gap-0.5 p-2">
        {portfolios.map((p) => (
          <li key={p.id}>
            <NavLink
              to={`/portfolios/${encodeURIComponent(p.id)}`}
              className={({ isActive }) =>
                cn('flex items-center gap-2 rounded px-2 py-1', isActive ? 'bg-sky-500/10 text-sky-200 ring-1 ring-sky-800' : 'text-slate-200 hover:bg-slate-800/60')
              }
            >
              <span className="truncate font-medium">{p.name}</span>
              <span className="tabular ml-auto text-xs text-slate-500">
                {p.transaction_count}
                <span className="sr-only"> transactions</span>
              </span>
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** Portfolios: the list on the side; the selected one's totals, holdings, performance and transactions. */
export function PortfoliosPage({ selectedId }: { selectedId?: string }) {
  const navigate = useNavigate();
  const list = usePortfolios();
  const portfolios = list.data?.data ?? [];
  const selected = portfolios.find((p) => p.id === selectedId);
  const detail = usePortfolio(selected?.id);
  const create = useCreatePortfolio();
  const rename = useRenamePortfolio();
  const remove = useDeletePortfolio();
  const dialogs = useCollectionDialog(create, rename, remove);

  useSelectFirst(list.data?.data.map((p) => p.id), !list.isFetching, selectedId, '/portfolios');


  if (list.isPending) {
    return (
      <p className="flex items-center justify-center gap-2 py-24 text-slate-400">
        <Spinner /> Loading your portfolios…
      </p>
    );
  }
  if (list.isError) return <ErrorAlert title="Could not load your portfolios" error={list.error} onRetry={() => void list.refetch()} />;

  return (
    <div className="grid gap-4 lg:grid-cols-[15rem_minmax(0,1fr)]">
      <PortfolioList portfolios={portfolios} onCreate={() => dialogs.open('create')} />
      {portfolios.length === 0 ? (
        <section className="card flex flex-col items-center gap-3 px-6 py-16 text-center" data-testid="no-portfolios">
          <h1 className="text-base font-semibold text-slate-100">No portfolios yet</h1>
          <p className="max-w-sm text-slate-400">Record your buys, sells, dividends and splits to follow cost basis, P&amp;L and performance.</p>
          <button type="button" className="btn-primary" onClick={() => dialogs.open('create')}>
            Create a portfolio
          </button>
        </section>
      ) : detail.isError ? (
        <ErrorAlert title="Could not load this portfolio" error={detail.error} onRetry={() => void detail.refetch()} />
      ) : detail.data ? (
        <PortfolioDetail portfolio={detail.data} onRename={() => dialogs.open('rename')} onDelete={() => dialogs.open('delete')} />
      ) : (
        <p className="flex items-center justify-center gap-2 py-16 text-slate-400">
          <Spinner /> Loading…
        </p>
      )}

      <CollectionDialogs
        noun="portfolio"
        quota="portfolios"
        dialog={dialogs.dialog}
        onClose={dialogs.close}
        selected={selected}
        deleteDescription={`“${selected?.name ?? ''}” and its ${selected?.transaction_count ?? 0} transactions will be deleted. This cannot be undone.`}
        create={create}
        rename={rename}
        remove={remove}
        onCreated={(id) => navigate(`/portfolios/${encodeURIComponent(id)}`)}
      />
    </div>
  );
}
