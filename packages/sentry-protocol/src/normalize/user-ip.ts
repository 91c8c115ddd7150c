import { isIP } from 'node:net';
import { field, isObject, nonEmptyText, truncateText } from './field-coercion';
import type { EventUser } from '../record';

/**
 * The event's user and which IP address is attributed to them, following Relay:
 *
 * - `sdk.settings.infer_ip = "never"`: nothing is inferred; `{{auto}}` is removed.
 * - `sdk.settings.infer_ip = "auto"`: a missing or `{{auto}}` `user.ip_address` becomes the
 *   connecting IP.
 * - no setting (legacy SDKs): `{{auto}}` becomes the connecting IP; a missing address is inferred
 *   only for browser-like platforms (`javascript`, `cocoa`, `objc`), or taken from
 *   `request.env.REMOTE_ADDR`.
 *
 * Invalid addresses are dropped. IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is stored as IPv4.
 */

export type InferIp = 'auto' | 'never' | 'legacy';

const AUTO = '{{auto}}';
const BROWSER_PLATFORMS = new Set(['javascript', 'cocoa', 'objc']);
const MAX_USER_FIELD = 256;

export function normalizeIp(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  let ip = value.trim();
  if (ip.toLowerCase().startsWith('::ffff:') && isIP(ip.slice(7)) === 4) ip = ip.slice(7);
  const version = isIP(ip);
  if (version === 0) return null;
  return version === 6 ? ip.toLowerCase() : ip;
}

export function inferIpSetting(sdk: unknown): InferIp {
  const settings = field(sdk, 'settings');
  const value = field(settings, 'infer_ip');
  return value === 'auto' || value === 'never' ? value : 'legacy';
}

export interface UserContext {
  platform: string | null;
  /** The connecting IP of the request. */
  clientIp: string | null;
  inferIp: InferIp;
  /** `request.env.REMOTE_ADDR` of the event, if any. */
  remoteAddr: unknown;
}

export function normalizeUser(raw: unknown, ctx: UserContext): EventUser | null {
  const user = isObject(raw) ? raw : null;
  const given = user === null ? undefined : user['ip_address'];
  const isAuto = given === AUTO;
  const missing = given === undefined || given === null || given === '';

  let ip: string | null;
  if (ctx.inferIp === 'never') ip = isAuto ? null : normalizeIp(given);
  else if (ctx.inferIp === 'auto') ip = isAuto || missing ? ctx.clientIp : normalizeIp(given);
  else if (isAuto) ip = ctx.clientIp;
  else if (!missing) ip = normalizeIp(given);
  else if (ctx.platform !== null && BROWSER_PLATFORMS.has(ctx.platform)) ip = ctx.clientIp;
  else ip = ctx.remoteAddr === AUTO ? ctx.clientIp : normalizeIp(ctx.remoteAddr);

  const out: EventUser = {
    id: userField(user?.['id']),
    email: userField(user?.['email']),
    username: userField(user?.['username']),
    ip_address: ip,
  };
  if (out.id === null && out.email === null && out.username === null && out.ip_address === null) return null;
  return out;
}

function userField(value: unknown): string | null {
  const text = nonEmptyText(value);
  return text === null ? null : truncateText(text, MAX_USER_FIELD);
}
