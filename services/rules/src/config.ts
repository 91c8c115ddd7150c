import { csv, durationMs, listenAddr, logLevel, url } from '@vigil/config';
import { z } from 'zod';

const name = z.string().regex(/^[a-zA-Z0-9._-]+$/, 'expected letters, digits, ".", "_" or "-"');

/** Every variable the rule engine service reads, validated once at start (CONTRACT.md §2). */
export const rulesConfigShape = {
  KAFKA_BROKERS: csv('127.0.0.1:9092').refine((list) => list.length > 0, 'expected host:port[,host:port…]'),
  SCHEMA_REGISTRY_URL: url(['http', 'https']).default('http://127.0.0.1:8081/apis/ccompat/v7'),
  DATABASE_URL: url(['postgres', 'postgresql']),
  VIGIL_TOPIC_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"').default('vigil.'),
  VIGIL_RULES_ADMIN_ADDR: listenAddr('127.0.0.1:8053'),
  /**
   * The internal topic records are re-partitioned through, keyed by rule group (default
   * `<prefix>rules.repartition.v1`). Its partitions are the units of state: never change their number.
   */
  VIGIL_RULES_REPARTITION_TOPIC: name.optional(),
  /** Partitions of the re-partition topic when it is created (the most rule workers that share the load). */
  VIGIL_RULES_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(12),
  /** Replication factor of the re-partition topic when it is created. */
  VIGIL_RULES_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(10).default(1),
  /** Consumer group of the routing stage (input topics); default `<prefix>rules.route`. */
  VIGIL_RULES_ROUTE_GROUP: name.optional(),
  /** Consumer group of the detection stage (re-partition topic); default `<prefix>rules.detect`. */
  VIGIL_RULES_DETECT_GROUP: name.optional(),
  /** Partitions each stage of one worker processes at the same time. */
  VIGIL_RULES_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** A worker not heard from for this long is presumed dead and its partitions move to the others. */
  VIGIL_RULES_SESSION_TIMEOUT: durationMs('30s'),
  /** Rules are re-read at least this often (changes are also announced by PostgreSQL NOTIFY). */
  VIGIL_RULES_RELOAD_INTERVAL: durationMs('2s'),
  /** How far behind its group's newest record a record may be and still count. */
  VIGIL_RULES_ALLOWED_LATENESS: durationMs('2m'),
  /** How far behind the newest record of its project a record may be before every rule drops it. */
  VIGIL_RULES_MAX_LAG: durationMs('1h'),
  VIGIL_LOG_LEVEL: logLevel(),
};

export type RulesConfig = z.infer<z.ZodObject<typeof rulesConfigShape>>;
