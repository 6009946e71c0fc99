import { useEffect } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router-dom';
import { LoginForm, RegisterForm } from '@/features/auth/components/auth-form';
import { safeNext } from '@/features/auth/next-path';
import { useSession } from '@/lib/session';

function AuthRoute({ mode }: { mode: 'login' | 'register' }) {
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const navigate = useNavigate();
  const status = useSession((s) => s.status);
  useEffect(() => {
    document.title = `${mode === 'login' ? 'Sign in' : 'Create account'} · Stockscreen`;
  }, [mode]);

  if (status === 'authenticated') return <Navigate to={next} replace />;
  const Form = mode === 'login' ? LoginForm : RegisterForm;
  return (
    <div className="flex justify-center px-4 py-12 sm:py-20">
      <Form next={next === '/' ? undefined : next} onSuccess={() => navigate(next, { replace: true })} />
    </div>
  );
}

export function LoginRoute() {
  return <AuthRoute mode="login" />;
}

export function RegisterRoute() {
  return <AuthRoute mode="register" />;
}
