import { useState } from 'react';
import { CollectionLink, CollectionNav, CollectionPage } from '@/components/collection-page';
import { ErrorAlert } from '@/components/ui/error-alert';
import { ConfirmDeleteDialog } from '@/components/ui/name-dialog';
import { OffsetPager } from '@/components/ui/offset-pager';
import { Spinner } from '@/components/ui/spinner';
import { toast } from '@/components/ui/toast-store';
import { useLiveQuotes } from '@/features/live/use-live-quotes';
import { cn } from '@/lib/cn';
import { changeClass, formatPrice } from '@/lib/format';
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
import { CardHeader, CountBadge } from '@/components/ui/card-header';


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
      <CardHeader id="transactions-heading" title="Transactions">
        <CountBadge>{count}</CountBadge>
        {txns.isFetching && <Spinner />}
        <button type="button" className="btn-primary ml-auto h-7 px-2.5 text-xs" onClick={onAdd} data-testid="add-transaction">
          Add transaction
        </button>
      </CardHeader>
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
    <CollectionNav noun="portfolio" plural="portfolios" count={portfolios.length} onCreate={onCreate}>
      <ul className="flex flex-col gap-0.5 p-2">
        {portfolios.map((p) => (
          <li key={p.id}>
            <CollectionLink plural="portfolios" item={p} count={p.transaction_count} countLabel="transactions" />
          </li>
        ))}
      </ul>
    </CollectionNav>
  );
}

/** Portfolios: the list on the side; the selected one's totals, holdings, performance and transactions. */
export function PortfoliosPage({ selectedId }: { selectedId?: string }) {
  const list = usePortfolios();
  const selected = list.data?.data.find((p) => p.id === selectedId);
  const detail = usePortfolio(selected?.id);
  const create = useCreatePortfolio();
  const rename = useRenamePortfolio();
  const remove = useDeletePortfolio();
  return (
    <CollectionPage
      noun="portfolio"
      plural="portfolios"
      list={list}
      selectedId={selectedId}
      detail={detail}
      columns="lg:grid-cols-[15rem_minmax(0,1fr)]"
      emptyText="Record your buys, sells, dividends and splits to follow cost basis, P&L and performance."
      renderList={(portfolios, onCreate) => <PortfolioList portfolios={portfolios} onCreate={onCreate} />}
      renderDetail={(portfolio, actions) => <PortfolioDetail portfolio={portfolio} {...actions} />}
      countOf={(p) => p.transaction_count}
      countLabel="transactions"
      create={create}
      rename={rename}
      remove={remove}
    />
  );
}
