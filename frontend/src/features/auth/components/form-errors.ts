import { ApiError, errorMessage } from '@/lib/api-client';

export interface FormErrorView {
  /** The message for the whole form (role="alert"). */
  message: string;
  /** Messages per field name, from the API's validation details. */
  fields: Record<string, string>;
  /** Seconds until another attempt is allowed (lockout, rate limit). */
  retryAfter?: number;
}

interface ValidationDetail {
  loc?: unknown;
  msg?: unknown;
  type?: unknown;
}

function capitalise(text: string): string {
  return text ? text[0]!.toUpperCase() + text.slice(1) : text;
}

function fieldMessage(field: string, detail: ValidationDetail): string {
  if (field === 'email' && detail.type === 'string_pattern_mismatch') return 'Enter a valid email address.';
  const msg = typeof detail.msg === 'string' ? detail.msg : 'Invalid value';
  return `${capitalise(msg)}.`.replace(/\.\.$/, '.');
}

/** Turn an error from the auth routes into what the form shows. `known` lists the form's field names. */
export function describeFormError(error: unknown, known: readonly string[]): FormErrorView {
  if (!(error instanceof ApiError)) return { message: errorMessage(error), fields: {} };
  const fields: Record<string, string> = {};
  if (error.code === 'validation_error' && Array.isArray(error.details)) {
    for (const detail of error.details as ValidationDetail[]) {
      const field = typeof detail.loc === 'string' ? detail.loc.split('.')[0] : undefined;
      if (field && known.includes(field) && !fields[field]) fields[field] = fieldMessage(field, detail);
    }
  }
  if (Object.keys(fields).length > 0) return { message: 'Please correct the highlighted fields.', fields };
  if (error.status === 429) {
    return {
      message: `${capitalise(error.message.replace(/;\s*try again later\.?$/i, ''))}.`,
      fields,
      retryAfter: error.retryAfter,
    };
  }
  return { message: `${capitalise(error.message)}${/[.!?]$/.test(error.message) ? '' : '.'}`, fields };
}

/** "45 s", "2 min", "2 min 5 s". */
export function formatWait(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  const rest = s % 60;
  return rest ? `${m} min ${rest} s` : `${m} min`;
}
