import { useEffect } from 'react';
import { NavLink, Navigate, Route, Routes } from 'react-router-dom';
import { cn } from '@/lib/cn';
import { AuditPage } from './audit-page';
import { DataPage } from './data-page';
import { OperationsPage } from './operations-page';
import { RequireAdmin } from './require-admin';
import { UsersPage } from './users-page';

const TABS = [
  ['data', 'Data'],
  ['users', 'Users'],
  ['audit', 'Audit log'],
  ['operations', 'Operations'],
] as const;

/** The admin area: Data (runs, findings, quarantine, uploads), Users, Audit log, Operations (the platform's health). */
export function AdminArea() {
  useEffect(() => {
    document.title = 'Admin · Stockscreen';
  }, []);
  return (
    <RequireAdmin>
      <div className="mx-auto w-full max-w-[1400px] px-4 py-4">
        <nav aria-label="Admin" className="mb-4 flex gap-1 border-b border-slate-800 pb-2">
          {TABS.map(([to, label]) => (
            <NavLink
              key={to}
              to={`/admin/${to}`}
              className={({ isActive }) => cn('rounded px-3 py-1 text-sm', isActive ? 'bg-slate-800 text-white' : 'text-slate-400 hover:text-slate-100')}
            >
              {label}
            </NavLink>
          ))}
        </nav>
        <Routes>
          <Route index element={<Navigate to="data" replace />} />
          <Route path="data" element={<DataPage />} />
          <Route path="users" element={<UsersPage />} />
          <Route path="audit" element={<AuditPage />} />
          <Route path="operations" element={<OperationsPage />} />
          <Route path="*" element={<Navigate to="data" replace />} />
        </Routes>
      </div>
    </RequireAdmin>
  );
}
