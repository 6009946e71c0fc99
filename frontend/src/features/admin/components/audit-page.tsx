import { useState } from 'react';
import { DataTable, type Column } from '@/components/ui/data-table';
import type { AuditEntry } from '../api/keys';
import { AUDIT_PAGE, useAudit } from '../api/users';

const COLUMNS: Column<AuditEntry>[] = [
  { id: 'when', header: 'When', className: 'whitespace-nowrap text-slate-400', cell: (e) => e.at.replace('T', ' ').slice(0, 19) },
  { id: 'action', header: 'Action', className: 'font-mono text-xs text-slate-200', cell: (e) => e.action },
  { id: 'actor', header: 'Actor', className: 'font-mono text-xs text-slate-500', cell: (e) => e.actor_id?.slice(0, 8) ?? '—' },
  { id: 'target', header: 'Target', className: 'font-mono text-xs text-slate-400', cell: (e) => e.target ?? '—' },
  { id: 'from', header: 'From', className: 'text-xs text-slate-500', cell: (e) => e.ip ?? '—' },
  {
    id: 'details',
    header: 'Details',
    className: 'max-w-md break-words font-mono text-[11px] text-slate-400',
    cell: (e) => (Object.keys(e.details).length ? JSON.stringify(e.details) : ''),
  },
];

/** The audit log, newest first, filtered by action. */
export function AuditPage() {
  const [action, setAction] = useState('');
  const [offset, setOffset] = useState(0);
  const audit = useAudit(action.trim(), offset);
  return (
    <section aria-labelledby="audit-heading" className="card">
      <div className="flex flex-wrap items-center gap-3 border-b border-slate-800 px-3 py-2">
        <h1 id="audit-heading" className="text-base font-semibold text-slate-100">
          Audit log
        </h1>
        <input
          type="search"
          aria-label="Filter by action"
          placeholder="Action, e.g. admin.role_change"
          className="input h-8 w-72"
          value={action}
          onChange={(e) => {
            setAction(e.target.value);
            setOffset(0);
          }}
        />
        {audit.data && <span className="text-xs text-slate-500">{audit.data.count} entr{audit.data.count === 1 ? 'y' : 'ies'}</span>}
      </div>
      <DataTable
        query={audit}
        columns={COLUMNS}
        rowKey={(e) => e.id}
        rowClassName={() => 'align-top'}
        empty="No entries."
        onRetry={() => void audit.refetch()}
        paging={{ offset, pageSize: AUDIT_PAGE, onOffset: setOffset }}
      />
    </section>
  );
}
