import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CLASSES } from './error-class';

// The attempt log shows these strings to operators; the receiver-facing docs explain each one.
test('every error class is documented in docs/webhooks.md', () => {
  const docs = readFileSync(new URL('../../../../docs/webhooks.md', import.meta.url), 'utf8');
  const missing = Object.keys(ERROR_CLASSES).filter((name) => !docs.includes(`\`${name}\``));
  assert.deepEqual(missing, []);
});
