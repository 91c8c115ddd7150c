export { testEnv, isolatedDatabase, uniquePrefix, freePort, silentLogger } from './isolation';
export type { TestEnv } from './isolation';
