// The sender thread run from source (tests, benchmarks, `tsx`): its TypeScript through tsx's loader. The build
// bundles send-thread.ts as dist/send-thread.cjs, which `npm start` runs instead.
import { register } from 'tsx/esm/api';

register();
await import('./send-thread.ts');
