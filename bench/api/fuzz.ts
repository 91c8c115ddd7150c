/**
 * Schema-based fuzzing of the read API with Schemathesis (PyPI: `pip install schemathesis`): every
 * operation of /v1/openapi.json is called with generated valid and invalid inputs, with a token holding
 * every scope, and every response is checked — no 5xx, status codes, content types, headers and bodies
 * as the document declares, invalid input refused, authentication not ignored.
 *
 *   source /tmp/vigil-dev/env.sh && node --import tsx bench/api/fuzz.ts [--max-examples 50] [--seed 1]
 *
 * Prints Schemathesis's summary and exits with its status (0 when every check passed).
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { seedEvents } from '../../services/api/src/testing/seed-events';
import { seedAlerts } from '../../services/api/src/testing/seed-alerts';
import { startApiFixture } from './api-fixture';

const { values } = parseArgs({
  options: {
    'max-examples': { type: 'string', default: '30' },
    seed: { type: 'string' },
    workers: { type: 'string', default: '2' },
    schemathesis: { type: 'string', default: 'schemathesis' },
  },
});

/** The checks run: all of them except "valid input must succeed", which random ids (404) cannot meet. */
export const FUZZ_CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
  'missing_required_header',
  'unsupported_method',
  'ignored_auth',
].join(',');

export async function runSchemathesis(o: { base: string; token: string; maxExamples: number; seed?: string; workers: string; bin: string }): Promise<number> {
  const args = [
    'run',
    `${o.base}/v1/openapi.json`,
    '--header',
    `Authorization: Bearer ${o.token}`,
    '--checks',
    FUZZ_CHECKS,
    // Revoking the token making the requests would end the run's authentication.
    '--exclude-operation-id',
    'revokeCurrentToken',
    '--phases',
    'examples,coverage,fuzzing',
    '--max-examples',
    String(o.maxExamples),
    '--workers',
    o.workers,
    '--suppress-health-check',
    'all',
    '--no-color',
    '--generation-database',
    'none',
    // Our token is the one to use; generated Authorization values are what ignored_auth is for.
    '--generation-with-security-parameters',
    'false',
    ...(o.seed ? ['--seed', o.seed] : []),
  ];
  const child = spawn(o.bin, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const fixture = await startApiFixture();
  try {
    const now = Date.now();
    await seedEvents(fixture.pool, Array.from({ length: 50 }, (_, i) => ({ projectId: fixture.projectId, timestamp: new Date(now - i * 60_000) })));
    await seedAlerts(fixture.pool, [{ project_id: fixture.projectId }]);
    const started = performance.now();
    const code = await runSchemathesis({
      base: fixture.base,
      token: fixture.token,
      maxExamples: Number(values['max-examples']),
      seed: values.seed,
      workers: values.workers!,
      bin: values.schemathesis!,
    });
    console.log(`\nschemathesis exited ${code} after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    process.exitCode = code;
  } finally {
    await fixture.stop();
  }
}
