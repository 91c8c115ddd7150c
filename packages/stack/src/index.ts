export { startStack, stopStack, stackStatus, endpointsOf } from './stack';
export type { StackConfig, StackEndpoints, StackPorts, StartedStack } from './stack';
export type { ComponentName, ComponentStatus } from './component';
export { ensureDatabase } from './postgres';
export { KAFKA_VERSION, APICURIO_VERSION } from './versions';
