import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApiToken, createOrganization, createPool, migrate, type Pool, type Scope, SCOPES } from '@vigil/db';
import { loadConfig } from '@vigil/config';
import { createLogger, type Logger } from '@vigil/logging';
import { isolatedDatabase, testEnv, uniquePrefix } from '@vigil/testkit';
import { startApi, type RunningApi } from '../api-server';
import { apiConfigShape } from '../config';
import { OpenApiValidator } from './openapi-validator';

export interface ApiResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when the body is not JSON. */
  body: any;
  text: string;
}

export interface RequestOptions {
  token?: string | null;
  body?: unknown;
  /** Sent as is (no JSON encoding) with this content type. */
  rawBody?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Skip checking the response against the OpenAPI document. */
  unchecked?: boolean;
}

/** What the API logged, one parsed JSON object per line (the newest lines, at most `limit`). */
export class CapturedLog {
  readonly lines: Array<Record<string, any>> = [];
  readonly logger: Logger;

  constructor(private readonly limit = 20_000) {
    this.logger = createLogger({
      service: 'api',
      level: 'info',
      destination: new Writable({
        write: (chunk: Buffer | string, _encoding, callback) => {
          for (const line of String(chunk).split('\n').filter(Boolean)) this.lines.push(JSON.parse(line));
          if (this.lines.length > this.limit) this.lines.splice(0, this.lines.length - this.limit);
          callback();
        },
      }) as never,
    });
  }

  /** The first line matching, waiting for it a little: access lines are written after the response is sent. */
  async find(match: (line: Record<string, any>) => boolean, timeoutMs = 2000): Promise<Record<string, any>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.find(match);
      if (line) return line;
      if (Date.now() > deadline) assert.fail(`no such log line within ${timeoutMs} ms`);
      await sleep(10);
    }
  }
}

/**
 * A running API against its own database and Redis key prefix, with helpers to make organizations and
 * tokens and to call endpoints. Every response is checked against the OpenAPI document the API
 * serves (status documented for the operation, body valid against its schema) unless told otherwise. What the API logs is kept in `log`.
 */
export class ApiHarness {
  private constructor(
    readonly env: Record<string, string>,
    readonly api: RunningApi,
    readonly pool: Pool,
    readonly databaseUrl: string,
    readonly base: string,
    readonly validator: OpenApiValidator,
    readonly log: CapturedLog,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<ApiHarness> {
    const test = testEnv();
    const databaseUrl = await isolatedDatabase();
    await migrate({ databaseUrl });
    return ApiHarness.launch({
      VIGIL_API_ADDR: '127.0.0.1:0',
      DATABASE_URL: databaseUrl,
      REDIS_URL: test.redisUrl,
      VIGIL_API_REDIS_PREFIX: `${uniquePrefix('api').replace(/\.$/, '')}:`,
      VIGIL_API_DB_POOL: '8',
      ...env,
    });
  }

  /** Another API instance on the same database and Redis prefix (what a second replica sees). */
  static attach(other: ApiHarness, env: Record<string, string> = {}): Promise<ApiHarness> {
    return ApiHarness.launch({ ...other.env, ...env });
  }

  private static async launch(env: Record<string, string>): Promise<ApiHarness> {
    const databaseUrl = env.DATABASE_URL!;
    const log = new CapturedLog();
    const api = await startApi(loadConfig(apiConfigShape, env), log.logger);
    const base = `http://127.0.0.1:${api.port}`;
    try {
      const document = (await (await fetch(`${base}/v1/openapi.json`)).json()) as Record<string, unknown>;
      const pool = createPool(databaseUrl, { max: 4 });
      return new ApiHarness(env, api, pool, databaseUrl, base, new OpenApiValidator(document), log);
    } catch (err) {
      await api.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    await this.api.stop();
    await this.pool.end();
  }

  /** A new organization and a token of it (every scope unless given). */
  async tenant(scopes: readonly Scope[] = SCOPES, slug = `org-${Math.random().toString(36).slice(2, 10)}`) {
    const org = await createOrganization(this.pool, slug);
    const { token, record } = await createApiToken(this.pool, { organizationId: org.id, name: 'test', scopes });
    return { org, token, tokenId: record.id };
  }

  async token(organizationId: number, scopes: readonly Scope[], options: { expiresAt?: Date; rateLimitPerMinute?: number } = {}) {
    const { token, record } = await createApiToken(this.pool, { organizationId, name: 'test', scopes, ...options });
    return { token, id: record.id };
  }

  async request(method: string, path: string, o: RequestOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined;
    if (o.rawBody !== undefined) {
      body = o.rawBody;
      if (o.contentType) headers['content-type'] = o.contentType;
    } else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(this.base + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (NDJSON exports, HTML)
    }
    const response = { status: res.status, headers: res.headers, body: parsed as any, text };
    if (!o.unchecked) this.validator.check(method, path, response);
    return response;
  }

  get = (path: string, o?: RequestOptions) => this.request('GET', path, o);
  post = (path: string, body?: unknown, o?: RequestOptions) => this.request('POST', path, { ...o, body });
  patch = (path: string, body?: unknown, o?: RequestOptions) => this.request('PATCH', path, { ...o, body });
  put = (path: string, body?: unknown, o?: RequestOptions) => this.request('PUT', path, { ...o, body });
  delete = (path: string, o?: RequestOptions) => this.request('DELETE', path, o);
}

/** Asserts an error response: status, catalog code, envelope and request id. */
export function assertError(res: ApiResponse, status: number, code: string): void {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.text.slice(0, 500)}`);
  assert.equal(res.body?.error?.code, code, res.text.slice(0, 500));
  assert.match(res.body.meta.request_id, /^req_/);
  assert.equal(res.headers.get('x-request-id'), res.body.meta.request_id);
}

export function assertOk(res: ApiResponse, status = 200): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
}
