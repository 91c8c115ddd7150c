import { isIP } from 'node:net';
import { z } from 'zod';

export interface ListenAddr {
  host: string;
  port: number;
}

const portRange = z.coerce
  .number({ message: 'expected a port number' })
  .int('expected an integer port')
  .min(0, 'expected a port from 0 to 65535')
  .max(65535, 'expected a port from 0 to 65535');

/** A TCP/UDP port number, with a default. */
export const port = (fallback: number) => portRange.default(fallback);

/** `host:port` or `[v6]:port`, parsed into its parts. */
export const listenAddr = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx): ListenAddr => {
      const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value);
      const host = m?.[1] ?? m?.[2];
      const p = Number(m?.[3]);
      if (!m || !host || !Number.isInteger(p) || p > 65535) {
        ctx.addIssue({ code: 'custom', message: 'expected host:port, e.g. 127.0.0.1:8030 or [::1]:8030' });
        return z.NEVER;
      }
      return { host, port: p };
    });

export const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    { message: `expected a URL with scheme ${protocols.join(' or ')}` },
  );

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as `500ms`, `5s`, `30m`, `2h`, `7d`, or a bare number of milliseconds. */
export const durationMs = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
      if (!m) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500ms, 5s, 30m, 2h or 7d' });
        return z.NEVER;
      }
      return Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? 'ms']!);
    });

/** A comma-separated list; empty items are dropped. */
export const csv = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) =>
      value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );

/** A comma-separated list of CIDRs (v4 or v6). */
export const cidrList = (fallback: string) =>
  csv(fallback).superRefine((items, ctx) => {
    for (const item of items) {
      const [addr, bits, extra] = item.split('/');
      const family = isIP(addr ?? '');
      const max = family === 6 ? 128 : 32;
      const n = Number(bits);
      if (!family || extra !== undefined || bits === undefined || !Number.isInteger(n) || n < 0 || n > max) {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not a CIDR such as 10.0.0.0/8 or fd00::/8` });
      }
    }
  });

export const logLevel = () =>
  z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');
