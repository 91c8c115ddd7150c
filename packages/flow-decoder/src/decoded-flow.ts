/**
 * The normalized flow record this package produces. Field names are snake_case because they are the
 * field names of the `vigil.flows.v1` Avro contract; do not rename them.
 */
export interface DecodedFlow {
  version: 5 | 9 | 10;
  /** v9 source id, IPFIX observation domain id, or for v5 `(engine_type << 8) | engine_id`. */
  observation_domain: number;
  /** Export packet sequence number of the datagram the record came in. */
  sequence: number;
  /** Unix epoch milliseconds. */
  flow_start_ms: number;
  flow_end_ms: number;
  ip_version: 4 | 6;
  /** Textual address; IPv6 in RFC 5952 compressed form. */
  src_addr: string;
  dst_addr: string;
  src_port: number;
  dst_port: number;
  protocol: number;
  /** Already multiplied by `sampling_rate`. */
  bytes: number;
  packets: number;
  /** 1 when unsampled or unknown. */
  sampling_rate: number;
  tcp_flags: number;
  tos: number;
  input_if: number;
  output_if: number;
  src_as: number;
  dst_as: number;
  src_mask: number;
  dst_mask: number;
  /** null when the record carries no next hop or the unspecified address. */
  next_hop: string | null;
  /** IE 61: 0 ingress, 1 egress; null when absent. */
  flow_direction: number | null;
  /** IE 239 (RFC 5103); null when absent. */
  biflow_direction: number | null;
  /** RFC 5103 reverse counters or Cisco NSEL responder counters, multiplied by the sampling rate; 0 otherwise. */
  reverse_bytes: number;
  reverse_packets: number;
}
