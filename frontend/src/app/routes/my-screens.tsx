import { useEffect } from 'react';
import { useNavigate } from 'react-router-dom';
import { RequireAuth } from '@/features/auth/components/require-auth';
import { SavedScreensPanel } from '@/features/saved-screens/components/saved-screens-panel';
import { useScreenerStore } from '@/features/screener/stores/screener-store';
import { useOpenScreen } from './screener';

export function MyScreensRoute() {
  useEffect(() => {
    document.title = 'My screens · Stockscreen';
  }, []);
  const navigate = useNavigate();
  const openScreen = useOpenScreen();
  const activeId = useScreenerStore((s) => s.openScreenId);
  return (
    <RequireAuth title="Sign in to see your saved screens" reason="Saved screens, watchlists, portfolios and alerts belong to your account.">
      <div className="mx-auto w-full max-w-2xl px-4 py-6">
        <SavedScreensPanel
          activeId={activeId}
          onOpen={(screen) => {
            openScreen(screen);
            navigate('/');
          }}
        />
      </div>
    </RequireAuth>
  );
}
