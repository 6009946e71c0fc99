import { useEffect } from 'react';
import { RequireAuth } from '@/features/auth/components/require-auth';
import { NotificationsPage } from '@/features/notifications/components/notifications-page';

export function NotificationsRoute() {
  useEffect(() => {
    document.title = 'Notifications · Stockscreen';
  }, []);
  return (
    <RequireAuth title="Sign in to see your notifications">
      <div className="mx-auto w-full max-w-2xl px-4 py-4">
        <NotificationsPage />
      </div>
    </RequireAuth>
  );
}
