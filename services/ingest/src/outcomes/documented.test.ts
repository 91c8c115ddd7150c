import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createMetrics } from '@vigil/service-runtime';
import { CATEGORIES, REASONS } from '@vigil/sentry-protocol';
import { createStoreMetrics } from '../../../store/src/store-metrics';
import { IngestMetrics } from './ingest-metrics';

const doc = readFileSync(new URL('../../../../docs/ingest.md', import.meta.url), 'utf8');

test('docs/ingest.md documents every reason code and category ingest can count', () => {
  for (const code of Object.keys(REASONS)) assert.ok(doc.includes(`\`${code}\``), `docs/ingest.md lacks reason ${code}`);
  for (const category of CATEGORIES) assert.ok(doc.includes(`\`${category}\``), `docs/ingest.md lacks category ${category}`);
});

test('docs/ingest.md documents every ingest and store metric', async () => {
  const registry = createMetrics('docs');
  const metrics = new IngestMetrics(registry);
  metrics.observe({ pendingBytes: () => 0, spoolBytes: () => 0, inFlight: () => 0 }, registry);
  createStoreMetrics(registry);
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('vigil_'));
  assert.ok(names.length >= 17);
  for (const name of names) assert.ok(doc.includes(`\`${name}\``), `docs/ingest.md lacks metric ${name}`);
});
