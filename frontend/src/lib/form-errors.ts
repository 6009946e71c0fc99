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

export interface FormErrorOptions {
  /** The field of a validation detail whose location names none of the form's fields (a model-level rule). */
  locate?: (detail: { loc: string; msg: string; type: string }) => string | undefined;
  /** The field a non-validation refusal is about (e.g. an unknown symbol, a sell of more than is held). */
  fieldOf?: (error: ApiError) => string | undefined;
}

function sentence(text: string): string {
  return `${capitalise(text)}${/[.!?]$/.test(text) ? '' : '.'}`;
}

/**
 * Turn an API error into what a form shows: a message for the whole form and, from the uniform error
 * body's validation details (`loc` like "quantity" or "rule.price_above.price"), messages per field.
 * `known` lists the form's field names.
 */
export function describeFormError(error: unknown, known: readonly string[], opts: FormErrorOptions = {}): FormErrorView {
  if (!(error instanceof ApiError)) return { message: errorMessage(error), fields: {} };
  const fields: Record<string, string> = {};
  if (error.code === 'validation_error' && Array.isArray(error.details)) {
    for (const detail of error.details as ValidationDetail[]) {
      const loc = typeof detail.loc === 'string' ? detail.loc : '';
      const field =
        loc
          .split('.')
          .reverse()
          .find((part) => known.includes(part)) ??
        opts.locate?.({ loc, msg: typeof detail.msg === 'string' ? detail.msg : '', type: typeof detail.type === 'string' ? detail.type : '' });
      if (field && known.includes(field) && !fields[field]) fields[field] = fieldMessage(field, detail);
    }
  } else {
    const field = opts.fieldOf?.(error);
    if (field && known.includes(field)) fields[field] = sentence(error.message);
  }
  if (Object.keys(fields).length > 0) return { message: 'Please correct the highlighted fields.', fields };
  if (error.status === 429) {
    return {
      message: `${capitalise(error.message.replace(/;\s*try again later\.?$/i, ''))}.`,
      fields,
      retryAfter: error.retryAfter,
    };
  }
  return { message: sentence(error.message), fields };
}

/** "45 s", "2 min", "2 min 5 s". */
export function formatWait(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  const rest = s % 60;
  return rest ? `${m} min ${rest} s` : `${m} min`;
}
