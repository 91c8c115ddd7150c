import {
  countOrganizations,
  createApiToken,
  createOrganization,
  createProject,
  SCOPES,
  withTransaction,
  type Pool,
} from '@vigil/db';
import { createCodecs, createKafka, createSchemaRegistry, ensureTopics } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import type { StackEndpoints } from '@vigil/stack';

/** Creates missing topics and registers the current schemas; returns the schema id per topic. */
export async function prepareTopics(endpoints: StackEndpoints, prefix: string, logger: Logger): Promise<Record<string, number>> {
  const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'vigil-cli', logger });
  await ensureTopics(kafka, prefix);
  const codecs = await createCodecs(createSchemaRegistry(endpoints.schemaRegistryUrl), prefix);
  return Object.fromEntries(Object.values(codecs).map((c) => [c.topic, c.schemaId]));
}

export interface FirstRun {
  organization: { id: number; slug: string };
  project: { id: number; name: string };
  publicKey: string;
  token: string;
}

/**
 * On the first start of an installation (no organization yet) creates the organization `default`, a
 * project with its DSN key, and an API token with every scope. Returns null on later starts.
 */
export async function firstRun(pool: Pool): Promise<FirstRun | null> {
  return withTransaction(pool, async (client) => {
    await client.query('lock table organizations in exclusive mode');
    if ((await countOrganizations(client)) > 0) return null;
    const org = await createOrganization(client, 'default', 'Default');
    const { project, key } = await createProject(client, org.id, 'default');
    const { token } = await createApiToken(client, { organizationId: org.id, name: 'bootstrap', scopes: SCOPES });
    return { organization: { id: org.id, slug: org.slug }, project: { id: project.id, name: project.name }, publicKey: key.public_key, token };
  });
}

/** The first active key of the default organization's first project, to show its DSN on later starts. */
export async function defaultKey(pool: Pool): Promise<{ projectId: number; publicKey: string } | null> {
  const { rows } = await pool.query<{ project_id: number; public_key: string }>(
    `select k.project_id, k.public_key from project_keys k
       join projects p on p.id = k.project_id
       join organizations o on o.id = p.organization_id
      where o.slug = 'default' and k.status = 'active'
      order by p.id, k.id limit 1`,
  );
  const row = rows[0];
  return row ? { projectId: row.project_id, publicKey: row.public_key } : null;
}
