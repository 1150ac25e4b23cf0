import type { FastifyPluginAsync } from 'fastify';
import type { RestOptions } from './scope.js';

/** Every module's REST shim routes (documented paths only); app.ts registers them in this order. */
export const restModules: FastifyPluginAsync<RestOptions>[] = [];
