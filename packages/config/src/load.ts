import { z } from 'zod';

export interface ConfigIssue {
  variable: string;
  value: string | undefined;
  message: string;
}

/** Thrown when one or more environment variables are invalid; the message names each of them. */
export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(
      'invalid configuration:\n' +
        issues
          .map((i) => `  ${i.variable}=${i.value === undefined ? '(unset)' : JSON.stringify(i.value)}: ${i.message}`)
          .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/**
 * Validates an environment against a zod object whose keys are the variable names.
 * The environment is passed in (deployables pass `process.env`); libraries never read it.
 */
export function loadConfig<S extends z.ZodRawShape>(
  shape: S,
  env: Record<string, string | undefined>,
): z.infer<z.ZodObject<S>> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(shape)) {
    const raw = env[key];
    input[key] = raw === '' ? undefined : raw;
  }
  const result = z.object(shape).safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? '(root)');
    return { variable, value: input[variable], message: issue.message };
  });
  throw new ConfigError(issues);
}
