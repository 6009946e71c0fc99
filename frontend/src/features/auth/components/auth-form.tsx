import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { Spinner } from '@/components/ui/spinner';
import { TextField } from '@/components/ui/text-field';
import type { TokenResponse } from '@/lib/session';
import { useLogin } from '../api/login';
import { useRegister } from '../api/register';
import { describeFormError, formatWait, type FormErrorView } from '@/lib/form-errors';
import { useCountdown } from './use-countdown';

/** The API's rule for new passwords (RegisterBody.password). */
export const MIN_PASSWORD_LENGTH = 10;

type Mode = 'login' | 'register';
const FIELDS = ['email', 'password', 'display_name'] as const;
type FieldName = (typeof FIELDS)[number];

function checkLocally(mode: Mode, email: string, password: string): Partial<Record<FieldName, string>> {
  const errors: Partial<Record<FieldName, string>> = {};
  if (!email.trim()) errors.email = 'Enter your email address.';
  else if (mode === 'register' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email.trim())) errors.email = 'Enter a valid email address.';
  if (!password) errors.password = 'Enter your password.';
  else if (mode === 'register' && password.length < MIN_PASSWORD_LENGTH)
    errors.password = `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
  return errors;
}

function AuthForm({ mode, onSuccess, next }: { mode: Mode; onSuccess: (session: TokenResponse) => void; next?: string }) {
  const login = useLogin();
  const register = useRegister();
  const mutation = mode === 'login' ? login : register;
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [view, setView] = useState<FormErrorView | null>(null);
  const [lockedUntil, setLockedUntil] = useState<number | null>(null);
  const waiting = useCountdown(lockedUntil);
  const emailRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);
  const nameRef = useRef<HTMLInputElement>(null);
  const alertRef = useRef<HTMLDivElement>(null);

  // Move focus to the first field in error, else to the message, so keyboard and screen-reader users land on it.
  useEffect(() => {
    if (!view) return;
    const inputs = { email: emailRef, password: passwordRef, display_name: nameRef };
    const first = FIELDS.find((f) => view.fields[f]);
    if (first) inputs[first].current?.focus();
    else alertRef.current?.focus();
  }, [view]);

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (mutation.isPending || waiting > 0) return;
    const local = checkLocally(mode, email, password);
    if (Object.keys(local).length > 0) {
      setView({ message: 'Please correct the highlighted fields.', fields: local });
      return;
    }
    setView(null);
    const onError = (error: unknown) => {
      const described = describeFormError(error, FIELDS);
      setView(described);
      setLockedUntil(described.retryAfter ? Date.now() + described.retryAfter * 1000 : null);
    };
    if (mode === 'login') login.mutate({ email: email.trim(), password }, { onSuccess, onError });
    else
      register.mutate(
        { email: email.trim(), password, display_name: displayName.trim() || null },
        { onSuccess, onError },
      );
  };

  const title = mode === 'login' ? 'Sign in to Stockscreen' : 'Create your Stockscreen account';
  const nextQuery = next ? `?next=${encodeURIComponent(next)}` : '';
  return (
    <form onSubmit={onSubmit} noValidate className="card flex w-full max-w-sm flex-col gap-4 p-6" aria-labelledby={`${mode}-title`}>
      <div>
        <h1 id={`${mode}-title`} className="text-lg font-semibold text-slate-50">
          {title}
        </h1>
        <p className="mt-1 text-slate-400">
          {mode === 'login'
            ? 'Save screens, keep watchlists and get alerts.'
            : 'Free plan: save up to a few screens, watchlists and alerts.'}
        </p>
      </div>

      {view && (
        <div
          ref={alertRef}
          role="alert"
          tabIndex={-1}
          data-testid="auth-error"
          className="rounded-md border border-rose-900/70 bg-rose-950/40 px-3 py-2 text-rose-200 focus:outline-none"
        >
          <p>{view.message}</p>
          {waiting > 0 && (
            <p className="tabular mt-0.5 text-rose-300/80" data-testid="retry-after">
              Try again in {formatWait(waiting)}.
            </p>
          )}
        </div>
      )}

      <TextField
        ref={emailRef}
        label="Email"
        type="email"
        name="email"
        autoComplete={mode === 'login' ? 'username' : 'email'}
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        error={view?.fields.email}
        required
      />
      {mode === 'register' && (
        <TextField
          ref={nameRef}
          label="Display name (optional)"
          name="display_name"
          autoComplete="nickname"
          maxLength={80}
          value={displayName}
          onChange={(e) => setDisplayName(e.target.value)}
          error={view?.fields.display_name}
        />
      )}
      <TextField
        ref={passwordRef}
        label="Password"
        type="password"
        name="password"
        autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        error={view?.fields.password}
        hint={mode === 'register' ? `At least ${MIN_PASSWORD_LENGTH} characters.` : undefined}
        required
      />

      <button type="submit" className="btn-primary h-9" disabled={mutation.isPending || waiting > 0} data-testid={`${mode}-submit`}>
        {mutation.isPending && <Spinner className="text-white" />}
        {mode === 'login' ? 'Sign in' : 'Create account'}
      </button>

      <p className="text-center text-slate-400">
        {mode === 'login' ? (
          <>
            New to Stockscreen?{' '}
            <Link to={`/register${nextQuery}`} className="text-sky-400 hover:underline">
              Create an account
            </Link>
          </>
        ) : (
          <>
            Already have an account?{' '}
            <Link to={`/login${nextQuery}`} className="text-sky-400 hover:underline">
              Sign in
            </Link>
          </>
        )}
      </p>
    </form>
  );
}

export function LoginForm(props: { onSuccess: (session: TokenResponse) => void; next?: string }) {
  return <AuthForm mode="login" {...props} />;
}

export function RegisterForm(props: { onSuccess: (session: TokenResponse) => void; next?: string }) {
  return <AuthForm mode="register" {...props} />;
}
