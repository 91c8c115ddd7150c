export { createPool, withTransaction } from './pool';
export type { Pool, Queryable } from './pool';
export { migrate, MIGRATIONS_DIR } from './migrate';
export type { MigrateOptions } from './migrate';
export { SCOPES, TOKEN_PREFIX, generateToken, hashToken, isWellFormedToken, tokenPrefix, generatePublicKey } from './tokens';
export type { Scope } from './tokens';
export { ConflictError, createOrganization, findOrganizationBySlug, countOrganizations } from './organizations';
export type { Organization } from './organizations';
export {
  createProject,
  findProject,
  createProjectKey,
  revokeProjectKey,
  findProjectKey,
  listProjectKeys,
  createExporter,
  listExporters,
  slugify,
} from './projects';
export type { Project, ProjectKey, Exporter } from './projects';
export { createApiToken, verifyApiToken, revokeApiToken, touchApiToken } from './api-tokens';
export type { ApiToken, TokenCheck } from './api-tokens';
