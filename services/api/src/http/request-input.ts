import { z } from 'zod';
import { ApiError, ERROR_CATALOG, type ErrorDetail } from './error-catalog';

export type InputLocation = 'path' | 'query' | 'body';

/**
 * Validates one part of a request with its zod schema and turns every problem into a named detail:
 * unknown query parameters and body fields are named one by one, a repeated query parameter is
 * refused rather than silently using one of its values.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, location: InputLocation): z.output<S> {
  if (location === 'query' && value !== null && typeof value === 'object') {
    const repeated = Object.entries(value).filter(([, v]) => Array.isArray(v));
    if (repeated.length) {
      throw new ApiError(
        'validation_error',
        undefined,
        repeated.map(([field]) => ({ field, message: 'given more than once' })),
      );
    }
  }
  // PostgreSQL text cannot hold NUL; refuse it here, named, rather than fail in the query.
  const nul = nulFields(value, '', 0);
  if (nul.length) throw new ApiError('validation_error', undefined, nul.map((field) => ({ field: field || location, message: 'must not contain NUL (U+0000) characters' })));
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const details = result.error.issues.flatMap((issue) => toDetails(issue, location));
  const unknown = details.filter((d) => d.message.startsWith('unknown ')).map((d) => d.field);
  const message = unknown.length
    ? `Unknown ${location === 'query' ? 'query parameter' : 'field'}${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}.`
    : ERROR_CATALOG.validation_error.message;
  throw new ApiError('validation_error', message, details);
}

function toDetails(issue: z.core.$ZodIssue, location: InputLocation): ErrorDetail[] {
  const path = issue.path.map(String).join('.');
  const field = path || location;
  if (issue.code === 'unrecognized_keys') {
    const what = location === 'query' ? 'unknown query parameter' : location === 'path' ? 'unknown path parameter' : 'unknown field';
    return issue.keys.map((key) => ({ field: path ? `${path}.${key}` : key, message: what }));
  }
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return [{ field, message: location === 'body' && !path ? 'a JSON body is required' : 'required' }];
    if (issue.expected === 'number' && Number.isNaN(issue.input)) return [{ field, message: 'expected a number' }];
    return [{ field, message: `expected ${issue.expected}` }];
  }
  return [{ field, message: issue.message }];
}

/** Paths of the strings (keys included) in `value` that contain U+0000. */
function nulFields(value: unknown, path: string, depth: number): string[] {
  if (typeof value === 'string') return value.includes('\u0000') ? [path] : [];
  if (value === null || typeof value !== 'object' || depth > 32) return [];
  const out: string[] = [];
  for (const [key, inner] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (key.includes('\u0000')) out.push(at);
    else out.push(...nulFields(inner, at, depth + 1));
  }
  return out;
}
