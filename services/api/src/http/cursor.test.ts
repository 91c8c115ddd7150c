import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createPool, type Pool } from '@vigil/db';
import { isolatedDatabase } from '@vigil/testkit';
import { decodeCursor, encodeCursor, positionTimestamp } from './cursor';

let pool: Pool;
before(async () => {
  pool = createPool(await isolatedDatabase(), { max: 1 });
});
after(() => pool.end());

test('a position time is the same instant for PostgreSQL, to the microsecond, before and after 1970', async () => {
  const samples = [0n, 1n, 999_999n, 1_000_000n, 1_795_402_440_123_456n, 1_795_402_440_000_001n, -1n, -999_999n, -1_000_000n, -1_000_001n, -86_400_000_000n + 5n];
  for (let i = 0; i < 200; i++) samples.push(BigInt(Math.floor(Math.random() * 4e15)) - 1_000_000_000_000_000n);
  const { rows } = await pool.query<{ us: string }>(
    `select (extract(epoch from t::timestamptz) * 1000000)::int8::text as us from unnest($1::text[]) with ordinality as x(t, n) order by n`,
    [samples.map(positionTimestamp)],
  );
  assert.deepEqual(rows.map((r) => BigInt(r.us)), samples);
  assert.equal(positionTimestamp(1_795_402_440_123_456n), '2026-11-23T02:54:00.123456Z');
  assert.deepEqual(decodeCursor('events', encodeCursor('events', { timeUs: 5n, id: 'x' })), { timeUs: 5n, id: 'x' });
});
