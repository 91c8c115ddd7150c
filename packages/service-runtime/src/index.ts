export { createMetrics, Counter, Gauge, Histogram, Registry } from './metrics';
export { adminRoutes, startAdminServer } from './admin-routes';
export type { AdminRoutesOptions, ReadinessChecks } from './admin-routes';
export { runService } from './lifecycle';
export type { Running, RunServiceOptions } from './lifecycle';
