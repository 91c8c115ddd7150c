// Entry of the Kafka producer thread: worker threads do not inherit the TypeScript loader, so it is
// registered here before the thread's module (producer-thread-main.ts) is imported.
import { register } from 'tsx/esm/api';

register();
await import('./producer-thread-main.ts');
