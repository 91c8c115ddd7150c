/**
 * Sampling rates: read from a record's own sampling elements, from options data remembered per
 * exporter scope and observation domain (optionally per sampler / selector id), or from the NetFlow
 * v5 header. Counters are multiplied by the rate; the rate itself is kept on the flow.
 */
import type { FlowAccumulator } from './flow-accumulator';

/**
 * The packet sampling rate a record announces, or 0 when it announces none: samplingInterval (34),
 * samplerRandomInterval (50), samplingPacketInterval/Space (305/306: (interval + space) / interval)
 * or samplingSize/Population (309/310).
 */
export function samplingRateOf(acc: FlowAccumulator): number {
  if (acc.samplingInterval > 0) return acc.samplingInterval;
  if (acc.samplerRandomInterval > 0) return acc.samplerRandomInterval;
  if (acc.packetInterval > 0 && acc.packetSpace >= 0) return (acc.packetInterval + acc.packetSpace) / acc.packetInterval;
  if (acc.samplingSize > 0 && acc.samplingPopulation > acc.samplingSize) return acc.samplingPopulation / acc.samplingSize;
  return 0;
}

/** What one observation domain of one exporter told us about its sampling. */
export class SamplingState {
  /** Rate for records that name no sampler; 0 = unknown. */
  defaultRate = 0;
  /** Whether defaultRate came from options data without a sampler id (then sampler rates do not override it). */
  private explicitDefault = false;
  private samplers: Map<number, number> | null = null;

  /** Remembers the rate announced by an options record. False when the sampler table is full. */
  learn(rate: number, samplerId: number, maxSamplers: number): boolean {
    if (samplerId < 0) {
      this.defaultRate = rate;
      this.explicitDefault = true;
      return true;
    }
    // A sampler's rate also serves records that name no sampler, unless a sampler-less rate was given.
    if (!this.explicitDefault) this.defaultRate = rate;
    this.samplers ??= new Map();
    if (!this.samplers.has(samplerId) && this.samplers.size >= maxSamplers) return false;
    this.samplers.set(samplerId, rate);
    return true;
  }

  /** Rate for a data record: its own announcement, its sampler's, the domain's, else 1. */
  rateFor(acc: FlowAccumulator): number {
    const own = samplingRateOf(acc);
    if (own > 0) return own;
    if (acc.samplerId >= 0 && this.samplers !== null) {
      const r = this.samplers.get(acc.samplerId);
      if (r !== undefined) return r;
    }
    return this.defaultRate > 0 ? this.defaultRate : 1;
  }
}
