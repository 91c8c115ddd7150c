/**
 * Conversions of the exporters' clocks to Unix epoch milliseconds: NTP timestamps, system uptime
 * relative to an export header (NetFlow v5/v9) or to systemInitTimeMilliseconds (IPFIX), with
 * 32-bit uptime wrap-around.
 */

const NTP_UNIX_OFFSET_S = 2_208_988_800;
const TWO_32 = 4_294_967_296;

/**
 * 64-bit NTP timestamp (seconds since 1900 and a binary fraction) to Unix ms. Seconds with the top
 * bit clear belong to NTP era 1 (from 2036-02-07), as in RFC 4330 §3.
 */
export function ntpToUnixMs(seconds: number, fraction: number): number {
  const unix = seconds >= 0x80000000 ? seconds - NTP_UNIX_OFFSET_S : seconds + TWO_32 - NTP_UNIX_OFFSET_S;
  return unix * 1000 + Math.floor(fraction / 4_294_967.296);
}

/**
 * NetFlow v5/v9: a FIRST/LAST_SWITCHED uptime to Unix ms, given the header's export time and
 * sysUptime. The difference is taken modulo 2^32 as a signed value, so an uptime that wrapped
 * between the flow and the export, and a switched time slightly after the header's sysUptime (seen
 * from exporters that stamp the header first), both land within ±24.8 days of the export time.
 */
export function uptimeToUnixMs(uptimeMs: number, sysUptimeMs: number, exportMs: number): number {
  return exportMs - ((sysUptimeMs - uptimeMs) | 0);
}

/**
 * IPFIX flowStart/EndSysUpTime (or v9 uptimes when the exporter announced its init time) relative to
 * systemInitTimeMilliseconds. The uptime is an unsigned 32-bit counter, so it is unwrapped to the
 * revolution that lands closest to the export time.
 */
export function initRelativeToUnixMs(uptimeMs: number, initMs: number, exportMs: number): number {
  const t = initMs + uptimeMs;
  const turns = Math.round((exportMs - t) / TWO_32);
  return turns > 0 ? t + turns * TWO_32 : t;
}
