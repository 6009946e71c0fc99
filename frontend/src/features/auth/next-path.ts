/** Where to go after signing in: a path inside the app only (no open redirects), never back to the forms. */
export function safeNext(raw: string | null | undefined): string {
  if (!raw || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return '/';
  if (/^\/(login|register)(\/|\?|$)/.test(raw)) return '/';
  return raw;
}
