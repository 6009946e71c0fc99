import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LoginRoute, RegisterRoute } from '@/app/routes/login';
import { sessionStore } from '@/lib/session';
import { errorResponse, jsonResponse, renderWithProviders, tokenFixture } from '@/test/utils';

function stubAuth(handler: (url: string, body: Record<string, unknown>) => Response) {
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) =>
    handler(String(input), init?.body ? (JSON.parse(String(init.body)) as Record<string, unknown>) : {}),
  );
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}

function renderLogin(route = '/login?next=%2Fscreens') {
  return renderWithProviders(<LoginRoute />, {
    path: '/login',
    route,
    routes: [
      { path: '/screens', element: <p data-testid="screens-page">my screens</p> },
      { path: '/register', element: <RegisterRoute /> },
    ],
  });
}

async function fillAndSubmit(email: string, password: string) {
  await userEvent.type(screen.getByLabelText('Email'), email);
  await userEvent.type(screen.getByLabelText('Password'), password);
  await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
}

describe('login form', () => {
  afterEach(() => vi.useRealTimers());

  it('signs in, keeps the token in memory only, and goes to the page that asked', async () => {
    const fetchMock = stubAuth((url) => (url === '/api/auth/login' ? jsonResponse(tokenFixture({ role: 'premium' })) : errorResponse(404, 'not_found', 'no')));
    const { router } = renderLogin();
    await fillAndSubmit(' Ada@Example.com ', 'correct horse battery');
    await waitFor(() => expect(router.state.location.pathname).toBe('/screens'));
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const [, init] = fetchMock.mock.calls[0]!;
    expect(JSON.parse(String(init?.body))).toEqual({ email: 'Ada@Example.com', password: 'correct horse battery' });
    expect(sessionStore.getState()).toMatchObject({ status: 'authenticated', accessToken: 'access-1', user: { role: 'premium' } });
    expect(JSON.stringify({ ...localStorage })).not.toContain('access-1');
  });

  it("shows the API's message for a wrong password and stays on the form", async () => {
    stubAuth(() => errorResponse(401, 'unauthorized', 'invalid email or password'));
    const { router } = renderLogin();
    await fillAndSubmit('ada@example.com', 'wrong');
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Invalid email or password.');
    await waitFor(() => expect(alert).toHaveFocus());
    expect(router.state.location.pathname).toBe('/login');
    expect(sessionStore.getState().status).toBe('anonymous');
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeEnabled();
  });

  it('explains a lockout with the wait from Retry-After and holds the button until then', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    stubAuth(() =>
      errorResponse(429, 'rate_limited', 'too many failed sign-in attempts; try again later', { retry_after: 90 }, { 'Retry-After': '90' }),
    );
    renderLogin();
    await fillAndSubmit('ada@example.com', 'wrong again');
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Too many failed sign-in attempts.');
    expect(screen.getByTestId('retry-after')).toHaveTextContent('Try again in 1 min 30 s.');
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeDisabled();
    await act(async () => {
      await vi.advanceTimersByTimeAsync(31_000);
    });
    expect(screen.getByTestId('retry-after')).toHaveTextContent('Try again in 59 s.');
    await act(async () => {
      await vi.advanceTimersByTimeAsync(60_000);
    });
    expect(screen.queryByTestId('retry-after')).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeEnabled();
  });

  it('puts validation details from the API next to the field they concern', async () => {
    stubAuth(() =>
      errorResponse(400, 'validation_error', 'invalid request body at email: String should have at least 3 characters', [
        { loc: 'email', msg: 'String should have at least 3 characters', type: 'string_too_short' },
      ]),
    );
    renderLogin();
    await fillAndSubmit('ab', 'whatever');
    expect(await screen.findByRole('alert')).toHaveTextContent('Please correct the highlighted fields.');
    const email = screen.getByLabelText('Email');
    expect(email).toHaveAttribute('aria-invalid', 'true');
    expect(email).toHaveAccessibleDescription('String should have at least 3 characters.');
    await waitFor(() => expect(email).toHaveFocus());
    expect(screen.getByLabelText('Password')).not.toHaveAttribute('aria-invalid');
  });

  it('checks for empty fields before calling the API', async () => {
    const fetchMock = stubAuth(() => jsonResponse({}));
    renderLogin();
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(screen.getByLabelText('Email')).toHaveAccessibleDescription('Enter your email address.');
    expect(screen.getByLabelText('Password')).toHaveAccessibleDescription('Enter your password.');
    expect(fetchMock).not.toHaveBeenCalled();
  });
});

describe('register form', () => {
  it('asks for a 10-character password before calling the API, then shows a conflict', async () => {
    const fetchMock = stubAuth(() => errorResponse(409, 'conflict', 'an account with this email already exists'));
    renderWithProviders(<RegisterRoute />, { path: '/register', route: '/register' });
    await userEvent.type(screen.getByLabelText('Email'), 'ada@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'short');
    await userEvent.click(screen.getByRole('button', { name: 'Create account' }));
    expect(screen.getByLabelText('Password')).toHaveAccessibleDescription(expect.stringContaining('Use at least 10 characters.'));
    expect(fetchMock).not.toHaveBeenCalled();

    await userEvent.type(screen.getByLabelText('Password'), ' and longer');
    await userEvent.click(screen.getByRole('button', { name: 'Create account' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('An account with this email already exists.');
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe('/api/auth/register');
    expect(JSON.parse(String(init?.body))).toEqual({ email: 'ada@example.com', password: 'short and longer', display_name: null });
  });
});
