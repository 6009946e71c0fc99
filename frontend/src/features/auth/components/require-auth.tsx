import type { ReactNode } from 'react';
import { Spinner } from '@/components/ui/spinner';
import { useSession } from '@/lib/session';
import { SignInPrompt } from '@/components/ui/sign-in-prompt';

/** Renders `children` for a signed-in user; a sign-in prompt for anyone else. */
export function RequireAuth({ children, title, reason }: { children: ReactNode; title: string; reason?: string }) {
  const status = useSession((s) => s.status);
  if (status === 'unknown') {
    return (
      <div className="flex items-center justify-center gap-2 py-24 text-slate-400" role="status">
        <Spinner /> Checking your session…
      </div>
    );
  }
  if (status === 'anonymous') {
    return (
      <div className="px-4 py-16">
        <SignInPrompt title={title}>{reason}</SignInPrompt>
      </div>
    );
  }
  return <>{children}</>;
}
