import type { HttpBindings } from '@hono/node-server';
import type { User } from '../auth/user.js';
import type { Logger } from '../logger.js';

export interface AppVariables {
  requestId: string;
  logger: Logger;
  user?: User;
}

export interface AppEnv {
  Bindings: HttpBindings;
  Variables: AppVariables;
}
