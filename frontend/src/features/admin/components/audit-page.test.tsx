import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { setSession } from '@/lib/session';
import { fakeApi } from '@/test/fake-api';
import { jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';
import { AuditPage } from './audit-page';
import { auditEntry } from './fixtures';

describe('admin audit log', () => {
  beforeEach(() => {
    setSession(tokenFixture({ role: 'admin' }));
  });

  it('lists entries newest first and filters them by action', async () => {
    const entries = [auditEntry(2, 'admin.quarantine_release', { symbol: 'LNT', rule: 'bad_print' }), auditEntry(1, 'admin.role_change', { from: 'free', to: 'premium' })];
    const api = fakeApi((req) => {
      if (req.path !== '/api/admin/audit') return undefined;
      const action = req.query.get('action');
      const rows = action ? entries.filter((e) => e.action === action) : entries;
      return jsonResponse({ data: rows, count: rows.length });
    });
    renderWithProviders(<AuditPage />);
    const table = await screen.findByRole('table');
    await within(table).findByText('admin.quarantine_release');
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => within(r).getAllByRole('cell')[1]!.textContent)).toEqual(['admin.quarantine_release', 'admin.role_change']);
    expect(within(rows[0]!).getByText('{"symbol":"LNT","rule":"bad_print"}')).toBeInTheDocument();
    expect(screen.getByText('2 entries')).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('Filter by action'), 'admin.role_change');
    await waitFor(() => expect(within(table).queryByText('admin.quarantine_release')).not.toBeInTheDocument());
    expect(api.sent.at(-1)!.query.get('action')).toBe('admin.role_change');
    expect(screen.getByText('1 entry')).toBeInTheDocument();
  });
});
