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
// Webhooks: endpoints, messages and the attempt log.
export {
  WEBHOOK_ALERT_TYPES,
  DEFAULT_ROTATION_GRACE_MS,
  createWebhook,
  getWebhook,
  listWebhooks,
  updateWebhook,
  rotateWebhookSecret,
  disableWebhook,
  enableWebhook,
  deleteWebhook,
  signingSecrets,
  subscriptionsForProjects,
  projectOrganizations,
} from './webhooks';
export type {
  Webhook,
  WebhookInput,
  WebhookPatch,
  WebhookPage,
  WebhookAlertType,
  WebhookSeverity,
  WebhookStatus,
  WebhookDisabledReason,
  WebhookSubscription,
} from './webhooks';
export {
  insertMessages,
  loadDeliverableMessages,
  failMessages,
  getMessage,
  listMessages,
  prepareRedelivery,
  claimOverduePendingMessages,
  parkMessages,
  unparkMessages,
  pruneMessages,
} from './webhook-messages';
export type {
  WebhookEventType,
  WebhookEventInput,
  MessageInput,
  PendingMessage,
  DeliverableMessage,
  MessageStatus,
  MessageFailureReason,
  WebhookMessage,
  RedeliveryPlan,
  UnparkedMessage,
} from './webhook-messages';
export { recordAttempts, listAttempts } from './webhook-attempts';
export type { AttemptRecord, AttemptTrigger, RecordedAttempts, WebhookAttempt } from './webhook-attempts';
// What the read API lists, changes and removes within one organization.
export { getOrganization, organizationProjectIds } from './organization-admin';
export { listApiTokens, getApiToken } from './api-token-admin';
export {
  listProjects,
  updateProject,
  deleteProject,
  listProjectKeysPage,
  getProjectKey,
  addProjectKey,
  revokeKeyOfProject,
  listProjectExporters,
  getProjectExporter,
  deleteProjectExporter,
  registerExporter,
} from './project-admin';
// Detection rules with their versions, alerts and the outbox of alert events.
export {
  createRule,
  getRule,
  listRules,
  updateRule,
  setRuleEnabled,
  deleteRule,
  listRuleVersions,
  getRuleVersion,
  loadEnabledRules,
  rulesRevision,
  RuleProjectError,
  RULES_CHANGED_CHANNEL,
} from './rules';
export type { RuleDefinition, StoredRule, RuleVersion, RuleFilter, RuleChange, RuleSource, RuleSeverity } from './rules';
export {
  insertDetectedAlerts,
  getAlert,
  listAlerts,
  countAlerts,
  alertPosition,
  acknowledgeAlert,
  resolveAlert,
  listAlertEvents,
  alertEventId,
  alertEventRecord,
  pendingAlertEvents,
  markAlertEventsAttempted,
  markAlertEventsPublished,
  AlertStateError,
  ALERT_EVENTS_CHANNEL,
} from './alerts';
export type {
  StoredAlert,
  DetectedAlert,
  AlertEventRecord,
  AlertEventType,
  AlertStatus,
  AlertSeverity,
  AlertFilter,
  AlertChange,
  InsertedAlerts,
  PendingAlertEvent,
} from './alerts';
export { listFlows, topTalkers, protocolBreakdown, portBreakdown } from './flows';
export type { FlowFilter, FlowMetric, FlowWindow, PortShare, ProtocolShare, StoredFlowRow, Talker, TalkerDimension } from './flows';
