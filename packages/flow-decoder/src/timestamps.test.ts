import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initRelativeToUnixMs, ntpToUnixMs, uptimeToUnixMs } from './timestamps';

describe('ntpToUnixMs', () => {
  it('converts NTP era 0 seconds and fractions', () => {
    assert.equal(ntpToUnixMs(2_208_988_800, 0), 0);
    assert.equal(ntpToUnixMs(2_208_988_800 + 1_709_294_400, 2 ** 31), 1_709_294_400_500);
    assert.equal(ntpToUnixMs(2_208_988_800 + 1, 2 ** 32 - 1), 1999);
  });

  it('reads seconds with the top bit clear as NTP era 1 (after 2036-02-07)', () => {
    // 2040-01-01T00:00:00Z
    const unix = 2_208_988_800;
    assert.equal(ntpToUnixMs((unix + 2_208_988_800) % 2 ** 32, 0), unix * 1000);
  });
});

describe('uptimeToUnixMs (NetFlow v5/v9)', () => {
  const EXPORT = 1_709_294_401_000;
  it('subtracts the uptime difference from the export time', () => {
    assert.equal(uptimeToUnixMs(90_000, 100_000, EXPORT), EXPORT - 10_000);
  });
  it('handles a 32-bit uptime wrap between the flow and the export', () => {
    assert.equal(uptimeToUnixMs(2 ** 32 - 1000, 500, EXPORT), EXPORT - 1500);
  });
  it('keeps a switched time slightly after sysUptime slightly after the export time', () => {
    assert.equal(uptimeToUnixMs(100_050, 100_000, EXPORT), EXPORT + 50);
  });
});

describe('initRelativeToUnixMs (IPFIX sysUpTime elements)', () => {
  const EXPORT = 1_709_294_401_000;
  it('adds the uptime to the system init time', () => {
    assert.equal(initRelativeToUnixMs(5000, EXPORT - 10_000, EXPORT), EXPORT - 5000);
  });
  it('unwraps an uptime counter that wrapped once or twice', () => {
    for (const days of [60, 110]) {
      const init = EXPORT - days * 86_400_000;
      const truth = EXPORT - 7000;
      assert.equal(initRelativeToUnixMs((truth - init) % 2 ** 32, init, EXPORT), truth);
    }
  });
});
