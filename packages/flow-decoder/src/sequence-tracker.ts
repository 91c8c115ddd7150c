/**
 * Export sequence numbers per exporter scope and observation domain, counting what was lost in
 * between. NetFlow v5 and IPFIX number records (RFC 7011: data records sent before this message);
 * NetFlow v9 numbers export packets. Some exporters (softflowd's IPFIX) count the records of the
 * message itself and leave options records out; both conventions are recognised, so only real gaps
 * are counted.
 */

const HALF = 0x8000_0000;

export class SequenceTracker {
  private last = -1;
  /** Units the previous message carried: all data records, and flow records only. -1: unknown. */
  private lastAll = -1;
  private lastFlows = -1;
  /** Learnt convention: 0 unknown, 1 RFC (records before the message), 2 inclusive. */
  private convention = 0;
  lostTotal = 0;
  resets = 0;

  /**
   * Records a message. `all` counts its data records including options data, `flows` only flow
   * records; pass -1 for both when some data set could not be counted (template unknown), which
   * suspends the check for the next message. For packet-numbered versions pass all = flows = 1.
   * Returns the units lost since the previous message, or -1 when the number went backwards
   * (exporter restart or reordering; the tracker starts over from this message).
   */
  observe(sequence: number, all: number, flows: number): number {
    let lost = 0;
    if (this.last >= 0 && this.lastAll >= 0) {
      const prev = this.last;
      const rfc = sequence === ((prev + this.lastAll) >>> 0) || sequence === ((prev + this.lastFlows) >>> 0);
      const inclusive = all >= 0 && (((sequence - all) >>> 0) === prev || ((sequence - flows) >>> 0) === prev);
      if (rfc) {
        if (!inclusive) this.convention = 1;
      } else if (inclusive) {
        this.convention = 2;
      } else {
        const gap =
          this.convention === 2 && flows >= 0 ? (sequence - flows - prev) >>> 0 : (sequence - prev - this.lastAll) >>> 0;
        lost = gap < HALF ? gap : -1;
      }
    }
    this.last = sequence >>> 0;
    this.lastAll = all;
    this.lastFlows = flows;
    if (lost > 0) this.lostTotal += lost;
    else if (lost < 0) this.resets++;
    return lost;
  }
}
