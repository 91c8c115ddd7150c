/**
 * Every input the decoder refuses or loses is counted under one of these reasons. The unit says what
 * one count stands for; the text is what an operator reads next to the metric.
 */
export const DROP_REASONS = {
  too_short: { unit: 'datagram', text: 'shorter than the header of its version' },
  unknown_version: { unit: 'datagram', text: 'version is not 5, 9 or 10' },
  bad_record_count: { unit: 'datagram', text: 'NetFlow v5 record count is 0 or needs more bytes than the datagram has' },
  message_length_mismatch: { unit: 'datagram', text: 'IPFIX message length is below 16 or beyond the datagram' },
  domain_limit: { unit: 'datagram', text: 'exporter already has the maximum number of observation domains tracked' },
  internal_error: { unit: 'datagram', text: 'unexpected decoder failure (a bug); the datagram was skipped' },
  set_length_invalid: { unit: 'set', text: 'set length below 4 or past the end of the message; the rest of the message was skipped' },
  set_id_reserved: { unit: 'set', text: 'set or flowset id is reserved' },
  missing_template: { unit: 'set', text: 'data set for a template that is unknown or expired, not buffered' },
  pending_scope_full: { unit: 'set', text: 'data set before its template did not fit in the exporter pending buffer' },
  pending_global_full: { unit: 'set', text: 'data set before its template did not fit in the global pending buffer' },
  pending_expired: { unit: 'set', text: 'buffered data set expired before its template arrived' },
  template_malformed: { unit: 'template', text: 'template record truncated or inconsistent with its set' },
  template_id_invalid: { unit: 'template', text: 'template id below 256' },
  template_too_many_fields: { unit: 'template', text: 'template has more fields than allowed' },
  template_limit: { unit: 'template', text: 'exporter already holds the maximum number of templates' },
  template_unusable: { unit: 'template', text: 'template records would be empty or longer than any message' },
  withdrawal_unknown: { unit: 'template', text: 'withdrawal of a template that is not known' },
  record_truncated: { unit: 'record', text: 'variable-length record runs past the end of its set' },
  no_ip_addresses: { unit: 'record', text: 'data record carries no IPv4 or IPv6 source and destination address' },
  sampler_limit: { unit: 'record', text: 'options record for a new sampler id beyond the per-domain limit' },
} as const satisfies Record<string, { unit: 'datagram' | 'set' | 'template' | 'record'; text: string }>;

export type DropReason = keyof typeof DROP_REASONS;

export type DropCounts = Record<DropReason, number>;

export function emptyDropCounts(): DropCounts {
  const out = {} as DropCounts;
  for (const k of Object.keys(DROP_REASONS) as DropReason[]) out[k] = 0;
  return out;
}
