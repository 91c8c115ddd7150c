/**
 * Size bounds Vigil applies unless the service configures others (CONTRACT.md §4): 1 MiB per
 * event, 20 MiB per envelope, both after decompression.
 */
export const DEFAULT_MAX_ENVELOPE_BYTES = 20 * 1024 * 1024;
export const DEFAULT_MAX_EVENT_BYTES = 1024 * 1024;
