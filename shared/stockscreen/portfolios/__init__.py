"""Portfolios: transactions, holdings (FIFO), P&L and performance."""
