import { useState } from 'react';
import { ErrorAlert } from '@/components/ui/error-alert';
import { OffsetPager } from '@/components/ui/offset-pager';
import { AUDIT_PAGE, useAudit } from '../api/users';

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
      {audit.isError && <ErrorAlert error={audit.error} onRetry={() => void audit.refetch()} />}
      <table className="w-full text-sm">
        <thead className="text-left text-xs text-slate-500">
          <tr>
            <th className="px-3 py-2">When</th>
            <th className="px-3 py-2">Action</th>
            <th className="px-3 py-2">Actor</th>
            <th className="px-3 py-2">Target</th>
            <th className="px-3 py-2">From</th>
            <th className="px-3 py-2">Details</th>
          </tr>
        </thead>
        <tbody>
          {(audit.data?.data ?? []).map((e) => (
            <tr key={e.id} className="border-t border-slate-800/70 align-top">
              <td className="whitespace-nowrap px-3 py-1.5 text-slate-400">{e.at.replace('T', ' ').slice(0, 19)}</td>
              <td className="px-3 py-1.5 font-mono text-xs text-slate-200">{e.action}</td>
              <td className="px-3 py-1.5 font-mono text-xs text-slate-500">{e.actor_id?.slice(0, 8) ?? '—'}</td>
              <td className="px-3 py-1.5 font-mono text-xs text-slate-400">{e.target ?? '—'}</td>
              <td className="px-3 py-1.5 text-xs text-slate-500">{e.ip ?? '—'}</td>
              <td className="max-w-md break-words px-3 py-1.5 font-mono text-[11px] text-slate-400">{Object.keys(e.details).length ? JSON.stringify(e.details) : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {audit.data && audit.data.count === 0 && <p className="px-3 py-6 text-center text-sm text-slate-500">No entries.</p>}
      <OffsetPager offset={offset} pageSize={AUDIT_PAGE} count={audit.data?.count ?? 0} onOffset={setOffset} />
    </section>
  );
}
