import { useEffect } from 'react';
import { RequireAuth } from '@/features/auth/components/require-auth';
import { ReportsPage } from '@/features/reports/components/reports-page';

export function ReportsRoute() {
  useEffect(() => {
    document.title = 'Reports · Stockscreen';
  }, []);
  return (
    <RequireAuth title="Sign in to see your reports">
      <div className="mx-auto w-full max-w-4xl px-4 py-4">
        <ReportsPage />
      </div>
    </RequireAuth>
  );
}
