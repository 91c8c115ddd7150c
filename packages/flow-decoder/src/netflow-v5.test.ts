import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { v5Packet, type V5Record } from '../scripts/datagram-builder';
import { createFlowDecoder } from './index';

const UNIX_S = 1_709_294_401;
const NOW = UNIX_S * 1000 + 250;

const R: V5Record = {
  src: '10.1.2.3',
  dst: '10.4.5.6',
  nextHop: '10.0.0.1',
  input: 3,
  output: 7,
  packets: 12,
  bytes: 9000,
  first: 590_000,
  last: 599_000,
  sport: 33000,
  dport: 443,
  tcpFlags: 0x1b,
  proto: 6,
  tos: 0x28,
  srcAs: 64512,
  dstAs: 15169,
  srcMask: 24,
  dstMask: 16,
};

describe('NetFlow v5', () => {
  it('decodes every field of the fixed record, timestamps from sysUptime and unix secs/nsecs', () => {
    const d = createFlowDecoder();
    const r = d.decode(v5Packet({ sysUptime: 600_000, unixSecs: UNIX_S, unixNsecs: 250_000_000, sequence: 1000, engineType: 1, engineId: 2 }, [R]), 'r', NOW);
    assert.deepEqual(r.drops, {});
    assert.deepEqual(r.flows[0], {
      version: 5,
      observation_domain: 0x0102,
      sequence: 1000,
      flow_start_ms: NOW - 10_000,
      flow_end_ms: NOW - 1000,
      ip_version: 4,
      src_addr: '10.1.2.3',
      dst_addr: '10.4.5.6',
      src_port: 33000,
      dst_port: 443,
      protocol: 6,
      bytes: 9000,
      packets: 12,
      sampling_rate: 1,
      tcp_flags: 0x1b,
      tos: 0x28,
      input_if: 3,
      output_if: 7,
      src_as: 64512,
      dst_as: 15169,
      src_mask: 24,
      dst_mask: 16,
      next_hop: '10.0.0.1',
      flow_direction: null,
      biflow_direction: null,
      reverse_bytes: 0,
      reverse_packets: 0,
    });
  });

  it('multiplies by the header sampling interval, ignoring the mode bits', () => {
    const d = createFlowDecoder();
    const r = d.decode(v5Packet({ sysUptime: 600_000, unixSecs: UNIX_S, sampling: (1 << 14) | 100 }, [R]), 'r', NOW);
    assert.deepEqual([r.flows[0]!.sampling_rate, r.flows[0]!.bytes, r.flows[0]!.packets], [100, 900_000, 1200]);
    // The next unsampled datagram is back to 1.
    const r2 = d.decode(v5Packet({ sysUptime: 600_000, unixSecs: UNIX_S }, [R]), 'r', NOW);
    assert.equal(r2.flows[0]!.sampling_rate, 1);
  });

  it('handles uptime wrap-around', () => {
    const d = createFlowDecoder();
    const r = d.decode(v5Packet({ sysUptime: 500, unixSecs: UNIX_S }, [{ ...R, first: 2 ** 32 - 1500, last: 100 }]), 'r', NOW);
    assert.deepEqual([r.flows[0]!.flow_start_ms, r.flows[0]!.flow_end_ms], [UNIX_S * 1000 - 2000, UNIX_S * 1000 - 400]);
  });

  it('counts lost records from flow_sequence', () => {
    const d = createFlowDecoder();
    const pkt = (sequence: number, n: number) => v5Packet({ sysUptime: 600_000, unixSecs: UNIX_S, sequence }, new Array<V5Record>(n).fill(R));
    assert.equal(d.decode(pkt(0, 30), 'r', NOW).lost, 0);
    assert.equal(d.decode(pkt(30, 30), 'r', NOW).lost, 0);
    assert.equal(d.decode(pkt(90, 5), 'r', NOW).lost, 30);
    assert.equal(d.stats().sequence.lostRecords, 30);
  });

  it('rejects a record count of zero or one the datagram cannot hold', () => {
    const d = createFlowDecoder();
    const pkt = v5Packet({ sysUptime: 1, unixSecs: UNIX_S }, [R, R]);
    assert.equal(d.decode(pkt.subarray(0, pkt.length - 1), 'r', NOW).rejected, 'bad_record_count');
    assert.equal(d.decode(v5Packet({ sysUptime: 1, unixSecs: UNIX_S }, []), 'r', NOW).rejected, 'bad_record_count');
    assert.equal(d.decode(pkt.subarray(0, 23), 'r', NOW).rejected, 'too_short');
    assert.equal(d.stats().datagrams.rejected, 3);
    assert.equal(d.stats().drops.bad_record_count, 2);
  });
});
