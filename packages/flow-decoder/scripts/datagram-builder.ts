/**
 * Builds NetFlow v5, NetFlow v9 and IPFIX datagrams field by field, for tests and benchmarks that
 * need layouts no exporter at hand produces (options, withdrawals, enterprise and variable-length
 * fields, odd timestamps).
 */

export interface FieldDef {
  id: number;
  length: number;
  /** Enterprise number; IPFIX only. */
  pen?: number;
}

export const f = (id: number, length: number, pen?: number): FieldDef => (pen === undefined ? { id, length } : { id, length, pen });

/** Writes record values one after another. */
export class RecordWriter {
  private parts: Buffer[] = [];

  uint(value: number | bigint, length: number): this {
    const b = Buffer.alloc(length);
    let v = BigInt(value);
    for (let i = length - 1; i >= 0; i--) {
      b[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    this.parts.push(b);
    return this;
  }
  u8(v: number): this {
    return this.uint(v, 1);
  }
  u16(v: number): this {
    return this.uint(v, 2);
  }
  u32(v: number): this {
    return this.uint(v, 4);
  }
  u64(v: number | bigint): this {
    return this.uint(v, 8);
  }
  ipv4(addr: string): this {
    this.parts.push(Buffer.from(addr.split('.').map(Number)));
    return this;
  }
  ipv6(addr: string): this {
    const [head = '', tail] = addr.split('::');
    const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
    const h = groups(head);
    const t = tail === undefined ? [] : groups(tail);
    const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
    const b = Buffer.alloc(16);
    all.forEach((g, i) => b.writeUInt16BE(g, 2 * i));
    this.parts.push(b);
    return this;
  }
  /** NTP timestamp for a Unix time in ms (plus optional extra nanoseconds). */
  ntp(unixMs: number, extraNs = 0): this {
    const secs = Math.floor(unixMs / 1000) + 2_208_988_800;
    const ns = (unixMs % 1000) * 1_000_000 + extraNs;
    const frac = Math.floor((ns / 1e9) * 2 ** 32);
    return this.uint(secs >>> 0, 4).uint(frac, 4);
  }
  /** IPFIX variable-length encoding: 1-byte length, or 255 and a 2-byte length when `long`. */
  varlen(bytes: Uint8Array, long = false): this {
    if (long || bytes.length >= 255) this.parts.push(Buffer.from([255, bytes.length >> 8, bytes.length & 255]));
    else this.parts.push(Buffer.from([bytes.length]));
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  bytes(b: Uint8Array): this {
    this.parts.push(Buffer.from(b));
    return this;
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export const rec = (): RecordWriter => new RecordWriter();

function set(id: number, body: Buffer, padding = 0): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(4 + body.length + padding, 2);
  return Buffer.concat([h, body, Buffer.alloc(padding)]);
}

function ipfixFields(fields: readonly FieldDef[]): Buffer {
  return Buffer.concat(
    fields.map((fd) => {
      const b = Buffer.alloc(fd.pen === undefined ? 4 : 8);
      b.writeUInt16BE(fd.pen === undefined ? fd.id : fd.id | 0x8000, 0);
      b.writeUInt16BE(fd.length, 2);
      if (fd.pen !== undefined) b.writeUInt32BE(fd.pen, 4);
      return b;
    }),
  );
}

const u16 = (...values: number[]): Buffer => {
  const b = Buffer.alloc(2 * values.length);
  values.forEach((v, i) => b.writeUInt16BE(v, 2 * i));
  return b;
};

export const ipfix = {
  message(h: { exportSecs?: number; sequence?: number; domain?: number }, sets: readonly Buffer[]): Buffer {
    const body = Buffer.concat(sets);
    const head = Buffer.alloc(16);
    head.writeUInt16BE(10, 0);
    head.writeUInt16BE(16 + body.length, 2);
    head.writeUInt32BE(h.exportSecs ?? 1_709_294_401, 4);
    head.writeUInt32BE(h.sequence ?? 0, 8);
    head.writeUInt32BE(h.domain ?? 0, 12);
    return Buffer.concat([head, body]);
  },
  templateSet(templates: readonly { id: number; fields: readonly FieldDef[] }[], padding = 0): Buffer {
    return set(2, Buffer.concat(templates.map((t) => Buffer.concat([u16(t.id, t.fields.length), ipfixFields(t.fields)]))), padding);
  },
  optionsTemplateSet(templates: readonly { id: number; scope: readonly FieldDef[]; fields: readonly FieldDef[] }[], padding = 0): Buffer {
    return set(
      3,
      Buffer.concat(
        templates.map((t) =>
          Buffer.concat([u16(t.id, t.scope.length + t.fields.length, t.scope.length), ipfixFields([...t.scope, ...t.fields])]),
        ),
      ),
      padding,
    );
  },
  /** Template withdrawal records (field count 0) in a template (2) or options template (3) set. */
  withdrawalSet(setId: 2 | 3, ids: readonly number[]): Buffer {
    return set(setId, Buffer.concat(ids.map((id) => u16(id, 0))));
  },
  dataSet(id: number, records: readonly Buffer[], padding = 0): Buffer {
    return set(id, Buffer.concat(records), padding);
  },
};

export const v9 = {
  packet(h: { sysUptime?: number; unixSecs?: number; sequence?: number; sourceId?: number; count?: number }, flowsets: readonly Buffer[]): Buffer {
    const head = Buffer.alloc(20);
    head.writeUInt16BE(9, 0);
    head.writeUInt16BE(h.count ?? flowsets.length, 2);
    head.writeUInt32BE(h.sysUptime ?? 100_000, 4);
    head.writeUInt32BE(h.unixSecs ?? 1_709_294_401, 8);
    head.writeUInt32BE(h.sequence ?? 0, 12);
    head.writeUInt32BE(h.sourceId ?? 0, 16);
    return Buffer.concat([head, ...flowsets]);
  },
  templateFlowset(templates: readonly { id: number; fields: readonly FieldDef[] }[], padding = 0): Buffer {
    return set(0, Buffer.concat(templates.map((t) => Buffer.concat([u16(t.id, t.fields.length), ...t.fields.map((fd) => u16(fd.id, fd.length))]))), padding);
  },
  optionsTemplateFlowset(t: { id: number; scope: readonly FieldDef[]; fields: readonly FieldDef[] }, padding = 0): Buffer {
    return set(
      1,
      Buffer.concat([
        u16(t.id, t.scope.length * 4, t.fields.length * 4),
        ...[...t.scope, ...t.fields].map((fd) => u16(fd.id, fd.length)),
      ]),
      padding,
    );
  },
  dataFlowset(id: number, records: readonly Buffer[], padding = 0): Buffer {
    return set(id, Buffer.concat(records), padding);
  },
};

export interface V5Record {
  src: string;
  dst: string;
  nextHop?: string;
  input?: number;
  output?: number;
  packets: number;
  bytes: number;
  first: number;
  last: number;
  sport: number;
  dport: number;
  tcpFlags?: number;
  proto: number;
  tos?: number;
  srcAs?: number;
  dstAs?: number;
  srcMask?: number;
  dstMask?: number;
}

export function v5Packet(
  h: { sysUptime: number; unixSecs: number; unixNsecs?: number; sequence?: number; engineType?: number; engineId?: number; sampling?: number },
  records: readonly V5Record[],
): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt16BE(5, 0);
  head.writeUInt16BE(records.length, 2);
  head.writeUInt32BE(h.sysUptime >>> 0, 4);
  head.writeUInt32BE(h.unixSecs, 8);
  head.writeUInt32BE(h.unixNsecs ?? 0, 12);
  head.writeUInt32BE(h.sequence ?? 0, 16);
  head[20] = h.engineType ?? 0;
  head[21] = h.engineId ?? 0;
  head.writeUInt16BE(h.sampling ?? 0, 22);
  const body = records.map((r) =>
    rec()
      .ipv4(r.src)
      .ipv4(r.dst)
      .ipv4(r.nextHop ?? '0.0.0.0')
      .u16(r.input ?? 0)
      .u16(r.output ?? 0)
      .u32(r.packets)
      .u32(r.bytes)
      .u32(r.first >>> 0)
      .u32(r.last >>> 0)
      .u16(r.sport)
      .u16(r.dport)
      .u8(0)
      .u8(r.tcpFlags ?? 0)
      .u8(r.proto)
      .u8(r.tos ?? 0)
      .u16(r.srcAs ?? 0)
      .u16(r.dstAs ?? 0)
      .u8(r.srcMask ?? 0)
      .u8(r.dstMask ?? 0)
      .u16(0)
      .build(),
  );
  return Buffer.concat([head, ...body]);
}
