import http from 'node:http';
import https from 'node:https';
import type { AddressPolicy } from './address-policy';
import { createSafeLookup, type SafeLookupOptions } from './destination';

/**
 * Keep-alive agents for deliveries. Every socket in these pools was opened through the safe
 * lookup of one policy, so reusing one never skips the address check. They are deliberately
 * separate from Node's global agent: a socket the rest of the process opened to the same host
 * name was never checked, and must not carry a webhook.
 */
export interface WebhookAgents {
  readonly policy: AddressPolicy;
  readonly http: http.Agent;
  readonly https: https.Agent;
  destroy(): void;
}

export interface WebhookAgentOptions extends SafeLookupOptions {
  /** Sockets per origin. Default 16. */
  maxSockets?: number;
  /** Idle sockets kept per origin. Default 4. */
  maxFreeSockets?: number;
  /** Close idle sockets after this long. Default 30 s. */
  idleTimeoutMs?: number;
}

const issued = new WeakSet<WebhookAgents>();

export function createWebhookAgents(policy: AddressPolicy, options: WebhookAgentOptions = {}): WebhookAgents {
  const lookup = createSafeLookup(policy, options);
  const common = {
    keepAlive: true,
    maxSockets: options.maxSockets ?? 16,
    maxFreeSockets: options.maxFreeSockets ?? 4,
    timeout: options.idleTimeoutMs ?? 30_000,
    scheduling: 'lifo' as const,
    lookup,
  };
  const agents: WebhookAgents = {
    policy,
    http: new http.Agent(common),
    https: new https.Agent(common),
    destroy() {
      this.http.destroy();
      this.https.destroy();
    },
  };
  issued.add(agents);
  return agents;
}

/** True for agents made by createWebhookAgents with this policy (so their sockets were checked by it). */
export function agentsEnforce(agents: WebhookAgents, policy: AddressPolicy): boolean {
  return issued.has(agents) && agents.policy === policy;
}
