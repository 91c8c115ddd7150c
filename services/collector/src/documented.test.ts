import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createFlowDecoder, DROP_REASONS } from '@vigil/flow-decoder';
import { createMetrics } from '@vigil/service-runtime';
import { COLLECTOR_DATAGRAM_DROPS, COLLECTOR_FLOW_DROPS, createCollectorMetrics, exportDecoderStats } from './collector-metrics';
import { collectorConfigShape } from './config';

const doc = readFileSync(new URL('../../../docs/flows.md', import.meta.url), 'utf8');

test('docs/flows.md documents every collector metric, drop reason and variable', async () => {
  const registry = createMetrics('docs');
  createCollectorMetrics(registry, { exporterRegistrations: () => 0, pendingFlows: () => 0, kernelDrops: () => [['127.0.0.1:1', 0]] });
  exportDecoderStats(registry, { udp: createFlowDecoder(), tcp: createFlowDecoder() });
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('vigil_'));
  assert.ok(names.length >= 25);
  for (const name of names) assert.ok(doc.includes(`\`${name}\``), `docs/flows.md lacks metric ${name}`);
  for (const reason of [...Object.keys(COLLECTOR_DATAGRAM_DROPS), ...Object.keys(COLLECTOR_FLOW_DROPS)]) {
    assert.ok(doc.includes(`\`${reason}\``), `docs/flows.md lacks reason ${reason}`);
  }
  for (const [reason, spec] of Object.entries(DROP_REASONS)) {
    if (spec.unit === 'datagram') assert.ok(doc.includes(`\`${reason}\``), `docs/flows.md lacks decoder reason ${reason}`);
  }
  for (const variable of Object.keys(collectorConfigShape)) assert.ok(doc.includes(`\`${variable}\``), `docs/flows.md lacks ${variable}`);
});
