/** Fills an OpenAPI path template with the given values, or with well-formed placeholders. */
export const PLACEHOLDERS: Record<string, string> = {
  project: '1',
  key_id: '1',
  exporter_id: '1',
  token_id: '00000000-0000-4000-8000-000000000000',
  event_id: '0123456789abcdef0123456789abcdef',
  rule_id: 'some-rule',
  version: '1',
  alert_id: '0123456789abcdef0123456789abcdef',
  webhook_id: '00000000-0000-4000-8000-000000000000',
  message_id: `msg_${'a'.repeat(32)}`,
};

export function fillPath(template: string, values: Record<string, string> = PLACEHOLDERS): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for path parameter ${name} of ${template}`);
    return encodeURIComponent(value);
  });
}

export interface Operation {
  method: string;
  template: string;
  operationId: string;
  scope: string | null;
  security: unknown[];
}

export function operationsOf(document: any): Operation[] {
  const out: Operation[] = [];
  for (const [template, methods] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(methods)) {
      out.push({ method: method.toUpperCase(), template, operationId: op.operationId, scope: op['x-required-scope'] ?? null, security: op.security });
    }
  }
  return out;
}
