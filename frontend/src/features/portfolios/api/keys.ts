import type { components } from '@/types/openapi';

export type PortfolioSummary = components['schemas']['PortfolioSummary'];
export type Portfolios = components['schemas']['PortfoliosPublic'];
export type Portfolio = components['schemas']['PortfolioPublic'];
export type Holding = components['schemas']['Holding'];
export type Totals = components['schemas']['Totals'];
export type Transaction = components['schemas']['TransactionPublic'];
export type Transactions = components['schemas']['TransactionsPublic'];
export type TransactionKind = components['schemas']['TransactionCreate']['kind'];
export type Performance = components['schemas']['PerformancePublic'];

/** Query keys: keyed by the user; everything about one portfolio sits under its `portfolio` key. */
export const portfolioKeys = {
  all: ['portfolios'] as const,
  list: (userId: string) => [...portfolioKeys.all, 'list', userId] as const,
  portfolio: (userId: string, id: string) => [...portfolioKeys.all, 'one', userId, id] as const,
  detail: (userId: string, id: string) => [...portfolioKeys.portfolio(userId, id), 'detail'] as const,
  transactions: (userId: string, id: string, offset: number) => [...portfolioKeys.portfolio(userId, id), 'transactions', offset] as const,
  performance: (userId: string, id: string) => [...portfolioKeys.portfolio(userId, id), 'performance'] as const,
};

export const portfolioPath = (id: string) => `/portfolios/${encodeURIComponent(id)}`;
