import type { ApiServices } from '../api-app';
import type { AnyRoute } from '../http/routes';
import { openApiRoutes } from '../openapi/openapi-routes';
import { alertRoutes } from './alerts/alerts-routes';
import { eventRoutes } from './events/events-routes';
import { flowRoutes } from './flows/flows-routes';
import { organizationRoutes } from './organization';
import { exporterRoutes } from './projects/exporters-routes';
import { keyRoutes } from './projects/keys-routes';
import { projectRoutes } from './projects/projects-routes';
import { ruleRoutes } from './rules/rules-routes';
import { tokenRoutes } from './tokens/tokens-routes';
import { deliveryRoutes } from './webhooks/deliveries-routes';
import { webhookRoutes } from './webhooks/webhooks-routes';

/** Every endpoint of /v1, in the order the OpenAPI document lists them. */
export function apiRoutes(s: ApiServices): AnyRoute[] {
  const routes: AnyRoute[] = [
    ...organizationRoutes(s),
    ...tokenRoutes(s),
    ...projectRoutes(s),
    ...keyRoutes(s),
    ...exporterRoutes(s),
    ...eventRoutes(s),
    ...flowRoutes(s),
    ...ruleRoutes(s),
    ...alertRoutes(s),
    ...webhookRoutes(s),
    ...deliveryRoutes(s),
  ];
  routes.push(...openApiRoutes(() => routes));
  return routes;
}
