/**
 * Every answer `POST /api/{project_id}/flows/` gives after authentication, in one catalog: the code
 * (also the `outcome` label of the request metric), the HTTP status and what the sender should do.
 * Authentication failures (401/403), rate limits (429) and body size limits (413) are ingest's, shared
 * with the event endpoints.
 */
export const HTTP_FLOW_OUTCOMES = {
  accepted: { status: 200, text: 'every flow of the body is in Kafka (acks=all)' },
  unsupported_media_type: { status: 415, text: 'Content-Type is not application/ipfix or application/x-netflow' },
  empty_body: { status: 400, text: 'the body holds no message' },
  malformed_body: { status: 400, text: 'the body is not a sequence of IPFIX messages / length-prefixed datagrams' },
  invalid_datagram: { status: 400, text: 'a message or datagram was refused by the decoder (reason given); nothing was written' },
  missing_template: { status: 422, text: 'data needs a template this key has not sent (ids given); resend templates with the data' },
  overloaded: { status: 503, text: 'the Kafka queue is full; retry after Retry-After seconds' },
  kafka_unavailable: { status: 503, text: 'Kafka did not acknowledge the flows; nothing is guaranteed written, retry after Retry-After' },
} as const satisfies Record<string, { status: number; text: string }>;

export type HttpFlowOutcome = keyof typeof HTTP_FLOW_OUTCOMES;

export interface HttpFlowResponse {
  status: number;
  outcome: HttpFlowOutcome;
  /** JSON body: `{"accepted": n, …}` on success, `{"code", "detail", …}` otherwise. */
  body: Record<string, unknown>;
  headers: Record<string, string>;
}

export function outcome(code: HttpFlowOutcome, detail: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): HttpFlowResponse {
  return { status: HTTP_FLOW_OUTCOMES[code].status, outcome: code, body: { code, detail, ...extra }, headers };
}
