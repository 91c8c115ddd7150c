/**
 * A realistic Sentry envelope of about 1.5 KiB, shaped like what `@sentry/node` sends for
 * `captureException` (envelope header with sdk and trace, one event item with an exception and a
 * short stack, contexts, tags, user, a breadcrumb). The event id appears twice; the load generator
 * replaces `ID_PLACEHOLDER` with a fresh id per request so records spread over partitions as real
 * traffic does.
 */
export const ID_PLACEHOLDER = 'ffffffffffffffffffffffffffffffff';

export function realisticEnvelope(publicKey: string): string {
  const now = Date.now();
  const header = {
    event_id: ID_PLACEHOLDER,
    sent_at: new Date(now).toISOString(),
    sdk: { name: 'sentry.javascript.node', version: '11.12.0' },
    trace: { environment: 'production', release: 'shop@2.4.1', public_key: publicKey, trace_id: 'c6f91260dcd04951addd9f3f27e94050' },
  };
  const frame = (fn: string, file: string, line: number) => ({ filename: file, module: file.replace(/\.js$/, ''), function: fn, lineno: line, colno: 17, in_app: true });
  const event = {
    event_id: ID_PLACEHOLDER,
    timestamp: now / 1000,
    platform: 'node',
    level: 'error',
    release: 'shop@2.4.1',
    environment: 'production',
    server_name: 'web-3',
    exception: {
      values: [
        {
          type: 'TypeError',
          value: "Cannot read properties of undefined (reading 'total')",
          mechanism: { type: 'onuncaughtexception', handled: false },
          stacktrace: {
            frames: [
              frame('Router.handle', '/app/node_modules/express/lib/router/index.js', 284),
              frame('checkout', '/app/src/routes/checkout.js', 41),
              frame('priceOrder', '/app/src/pricing/order.js', 118),
            ],
          },
        },
      ],
    },
    contexts: {
      os: { name: 'linux', version: '6.1.0' },
      runtime: { name: 'node', version: 'v20.20.2' },
      trace: { trace_id: 'c6f91260dcd04951addd9f3f27e94050', span_id: 'a3c1f0e2b4d59687' },
    },
    tags: { 'vigil.class': 'error', route: 'POST /checkout', region: 'eu-west-1' },
    user: { id: 'u-1842', email: 'customer@example.com', ip_address: '{{auto}}' },
    breadcrumbs: [{ timestamp: now / 1000 - 1, category: 'http', data: { method: 'POST', url: '/checkout', status_code: 500 } }],
    request: { method: 'POST', url: 'https://shop.example.com/checkout' },
    sdk: { name: 'sentry.javascript.node', version: '11.12.0', integrations: ['Http', 'Express'] },
  };
  const payload = JSON.stringify(event);
  return `${JSON.stringify(header)}\n${JSON.stringify({ type: 'event', length: Buffer.byteLength(payload) })}\n${payload}\n`;
}
