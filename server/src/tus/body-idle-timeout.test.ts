import { describe, expect, it } from 'vitest';
import { createBodyIdleTimeout } from './body-idle-timeout.js';
import type { BodyStageContext, BodyStopReason } from './upload-body.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stage(idleMs: number) {
  const stops: BodyStopReason[] = [];
  const context: BodyStageContext = { uploadId: 'u', offset: 0, size: 10, header: () => undefined, trailer: () => undefined, stop: (reason) => stops.push(reason), stopReason: () => undefined };
  return { transform: createBodyIdleTimeout(idleMs)(context)!, stops };
}

describe('body idle timeout', () => {
  it('stops a body that sends nothing for the idle time', async () => {
    const { transform, stops } = stage(50);
    transform.resume();
    await sleep(120);
    expect(stops).toEqual(['idle-timeout']);
  });

  it('each chunk starts the idle time over', async () => {
    const { transform, stops } = stage(80);
    transform.resume();
    for (let i = 0; i < 5; i++) {
      transform.write(Buffer.from('x'));
      await sleep(40);
    }
    expect(stops).toEqual([]);
    transform.destroy();
  });

  it('does not blame the client while its bytes wait for the store (output not drained)', async () => {
    const { transform, stops } = stage(50);
    transform.write(Buffer.alloc(1024)); // nobody reads the output: a store that is slow
    await sleep(150);
    expect(stops).toEqual([]);
    transform.resume();
    await sleep(120);
    expect(stops).toEqual(['idle-timeout']);
  });

  it('never fires after the body ended', async () => {
    const { transform, stops } = stage(30);
    transform.resume();
    transform.end(Buffer.from('done'));
    await sleep(80);
    expect(stops).toEqual([]);
  });
});
