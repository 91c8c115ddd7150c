/** What one `decode` call returns, and the decoder's cumulative counters. */
import type { DecodedFlow } from './decoded-flow';
import { emptyDropCounts, type DropCounts, type DropReason } from './drop-reasons';

/**
 * `buffer`: data sets whose template is unknown are kept (bounded) and decoded when it arrives (UDP).
 * `report-missing`: they are dropped and their template ids listed in `missingTemplates`, so an
 * authenticated sender can be told to resend its templates (HTTP ingest answers 422).
 */
export type MissingTemplateMode = 'buffer' | 'report-missing';

export interface DecodeResult {
  /** Normalized flows, including ones released from earlier buffered sets by a template in this datagram. */
  flows: DecodedFlow[];
  /** Header fields of this datagram; null when it was rejected before they could be read. */
  version: 5 | 9 | 10 | null;
  observationDomain: number | null;
  sequence: number | null;
  /** Template ids this datagram needed and did not have (after considering its own templates). */
  missingTemplates: number[];
  /** Data sets of this datagram kept until their template arrives. */
  bufferedSets: number;
  /** How many of `flows` came from earlier buffered sets. */
  releasedFlows: number;
  /** Sequence gap detected at this datagram: records (v5, IPFIX) or packets (v9); -1 when it went backwards. */
  lost: number;
  /** Everything dropped from this datagram, by reason (only reasons that occurred). */
  drops: Partial<Record<DropReason, number>>;
  /** Set when the whole datagram was refused. */
  rejected: DropReason | null;
}

export function emptyResult(): DecodeResult {
  return {
    flows: [],
    version: null,
    observationDomain: null,
    sequence: null,
    missingTemplates: [],
    bufferedSets: 0,
    releasedFlows: 0,
    lost: 0,
    drops: {},
    rejected: null,
  };
}

/** Cumulative counters (monotonic unless marked as a gauge). Plain data, safe to export as metrics. */
export interface DecoderStats {
  datagrams: { v5: number; v9: number; ipfix: number; rejected: number };
  /** Data records decoded into flows. */
  flows: number;
  /** Options data records applied (sampling, system init time). */
  optionsRecords: number;
  templates: {
    /** Template records received, including unchanged refreshes. */
    received: number;
    added: number;
    replaced: number;
    withdrawn: number;
    expired: number;
    /** Distinct layouts compiled into record decoders. */
    compiled: number;
    /** Gauge: templates currently held. */
    active: number;
  };
  pending: {
    bufferedSets: number;
    releasedSets: number;
    releasedFlows: number;
    expiredSets: number;
    /** Gauges. */
    sets: number;
    bytes: number;
  };
  sequence: {
    /** NetFlow v5 and IPFIX gaps, in records. */
    lostRecords: number;
    /** NetFlow v9 gaps, in export packets. */
    lostPackets: number;
    /** Sequence went backwards (exporter restart or reordering). */
    resets: number;
  };
  /** Flows with no usable time fields, stamped with the export time. */
  timestampsDefaulted: number;
  scopesEvicted: number;
  /** Gauges. */
  scopes: number;
  domains: number;
  drops: DropCounts;
}

export function emptyStats(): DecoderStats {
  return {
    datagrams: { v5: 0, v9: 0, ipfix: 0, rejected: 0 },
    flows: 0,
    optionsRecords: 0,
    templates: { received: 0, added: 0, replaced: 0, withdrawn: 0, expired: 0, compiled: 0, active: 0 },
    pending: { bufferedSets: 0, releasedSets: 0, releasedFlows: 0, expiredSets: 0, sets: 0, bytes: 0 },
    sequence: { lostRecords: 0, lostPackets: 0, resets: 0 },
    timestampsDefaulted: 0,
    scopesEvicted: 0,
    scopes: 0,
    domains: 0,
    drops: emptyDropCounts(),
  };
}
