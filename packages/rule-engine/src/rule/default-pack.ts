/**
 * The default rule pack, generated per project (or organization-wide with `projectId: null`).
 * Every rule is an ordinary rule (validated by the same schema), tagged with MITRE ATT&CK ids, and
 * can be edited or disabled like any other once stored.
 */
import { RuleValidationError, validateRule } from './schema';
import type { Rule, RuleInput } from './schema';

export interface DefaultPackOptions {
  /** Project the rules belong to; null makes them organization-wide. */
  projectId: number | null;
  /** Networks whose contact raises an alert; the blocklist rule is included only when non-empty. */
  blocklist?: string[];
  /** Networks considered internal, for the outbound-transfer rule. */
  internalNetworks?: string[];
  /** Fields identifying the attacker in failed-login events (default `['client_ip']`). */
  bruteForceGroupBy?: string[];
  thresholds?: Partial<{ bruteForce: number; portScan: number; hostSweep: number; outboundBytes: number }>;
}

export const DEFAULT_INTERNAL_NETWORKS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

/** Where each service is expected; traffic identified as the service elsewhere is suspicious. */
const SERVICE_PORTS: Record<string, number[]> = {
  ssh: [22],
  rdp: [3389],
  smb: [139, 445],
  ftp: [20, 21],
  telnet: [23],
  dns: [53],
};

export function defaultRulePack(options: DefaultPackOptions): Rule[] {
  const { projectId } = options;
  const t = { bruteForce: 10, portScan: 50, hostSweep: 50, outboundBytes: 1_000_000_000, ...options.thresholds };
  const id = (name: string) => (projectId === null ? `default.${name}` : `default.p${projectId}.${name}`);
  const groupBy = options.bruteForceGroupBy ?? ['client_ip'];
  const internal = options.internalNetworks ?? DEFAULT_INTERNAL_NETWORKS;
  const inputs: RuleInput[] = [
    {
      id: id('brute-force-login'),
      name: 'Brute-force logins',
      description: `${t.bruteForce} or more failed logins from the same ${groupBy.join(' + ')} within 5 minutes.`,
      project_id: projectId,
      source: 'events',
      severity: 'high',
      tags: ['attack.credential_access', 'attack.t1110'],
      match: {
        all: [
          { field: 'type', in: ['auth.login_failed', 'auth.mfa_failed'] },
          ...groupBy.map((field) => ({ field, exists: true })),
        ],
      },
      aggregate: { window: '5m', group_by: groupBy, function: 'count', threshold: t.bruteForce },
      suppress: '1h',
    },
    {
      id: id('port-scan'),
      name: 'Port scan',
      description: `One source contacting ${t.portScan} or more distinct destination ports within 5 minutes. ` +
        'Flows from a service port (< 1024) or towards an ephemeral port (≥ 32768) are replies and are ignored.',
      project_id: projectId,
      source: 'flows',
      severity: 'medium',
      tags: ['attack.discovery', 'attack.t1046', 'attack.reconnaissance', 'attack.t1595.001'],
      match: {
        all: [
          { field: 'protocol', in: ['tcp', 'udp'] },
          { field: 'src_port', gte: 1024 },
          { field: 'dst_port', lt: 32768 },
        ],
      },
      aggregate: { window: '5m', group_by: ['src_addr'], function: 'distinct', field: 'dst_port', threshold: t.portScan },
      suppress: '1h',
    },
    {
      id: id('host-sweep'),
      name: 'Host sweep',
      description: `One source contacting ${t.hostSweep} or more distinct hosts on the same port within 5 minutes ` +
        '(DNS, HTTP(S), NTP and DoT are excluded: clients legitimately reach many servers on them).',
      project_id: projectId,
      source: 'flows',
      severity: 'medium',
      tags: ['attack.discovery', 'attack.t1046', 'attack.t1018'],
      match: {
        all: [
          { field: 'protocol', in: ['tcp', 'udp', 'icmp', 'icmpv6'] },
          { not: { field: 'dst_port', in: [53, 80, 123, 443, 853] } },
        ],
      },
      aggregate: { window: '5m', group_by: ['src_addr', 'dst_port'], function: 'distinct', field: 'dst_addr', threshold: t.hostSweep },
      suppress: '1h',
    },
    {
      id: id('large-outbound-transfer'),
      name: 'Large outbound transfer',
      description: `An internal host sending ${t.outboundBytes} bytes or more to external addresses within one hour.`,
      project_id: projectId,
      source: 'flows',
      severity: 'high',
      tags: ['attack.exfiltration', 'attack.t1048', 'attack.t1030'],
      match: {
        all: [
          { field: 'src_addr', cidr: internal },
          { not: { field: 'dst_addr', cidr: internal } },
        ],
      },
      aggregate: { window: '1h', group_by: ['src_addr'], function: 'sum', field: 'bytes', threshold: t.outboundBytes },
      suppress: '1h',
    },
    {
      id: id('non-standard-service-port'),
      name: 'Known service on a non-standard port',
      description: 'A network event whose protocol was identified by inspection (attributes.app_proto, as in Suricata EVE) ' +
        'on a port other than the service\'s standard one (attributes.dest_port).',
      project_id: projectId,
      source: 'events',
      severity: 'medium',
      tags: ['attack.command_and_control', 'attack.t1571'],
      match: {
        all: [
          { field: 'class', eq: 'network' },
          { field: 'attributes.dest_port', exists: true },
          {
            any: Object.entries(SERVICE_PORTS).map(([service, ports]) => ({
              all: [
                { field: 'attributes.app_proto', eq: service },
                { not: { field: 'attributes.dest_port', in: ports } },
              ],
            })),
          },
        ],
      },
      suppress: { duration: '1h', group_by: ['attributes.dest_ip', 'attributes.dest_port', 'attributes.app_proto'] },
    },
  ];
  if (options.blocklist !== undefined && options.blocklist.length > 0) {
    inputs.push({
      id: id('blocklisted-destination'),
      name: 'Traffic to a blocklisted network',
      description: `Flows towards one of ${options.blocklist.length} blocklisted networks.`,
      project_id: projectId,
      source: 'flows',
      severity: 'high',
      tags: ['attack.command_and_control', 'attack.t1071'],
      match: { field: 'dst_addr', cidr: options.blocklist },
      suppress: { duration: '1h', group_by: ['src_addr', 'dst_addr'] },
    });
  }
  return inputs.map((input) => {
    const r = validateRule(input);
    if (!r.ok) throw new RuleValidationError(input.id, r.issues);
    return r.value;
  });
}
