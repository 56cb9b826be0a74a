import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';
import { EVENTS } from '@tus/utils';
import { required, serve } from './serve.js';

/**
 * Baseline: bare @tus/server + @tus/file-store on node:http, no Haul code.
 * env: DIR (upload directory, required), PORT (default 0), HOST (default 127.0.0.1),
 *      BARE_TUS_POST_RECEIVE=<ms> attaches a POST_RECEIVE listener like Haul's (diagnostics only).
 */

const directory = required('bare-tus', 'DIR');
const postReceiveMs = Number(process.env.BARE_TUS_POST_RECEIVE ?? 0);
const server = new Server({
  path: '/files',
  datastore: new FileStore({ directory }),
  ...(postReceiveMs > 0 ? { postReceiveInterval: postReceiveMs } : {}),
});
if (postReceiveMs > 0) server.on(EVENTS.POST_RECEIVE, () => {});
serve((req, res) => void server.handle(req, res));
