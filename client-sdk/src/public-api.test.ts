/**
 * Type tests of the public API. vitest runs `expectTypeOf` as no-ops; the compiler checks them
 * (client-sdk/tsconfig.test.json is part of the root `tsc -b`), so a wrong type fails the build.
 */
import type { Readable } from 'node:stream';
import type { ErrorCode, linkSchema, uploadListSchema, uploadSchema, uploadStatusSchema } from '@haul/api';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import {
  type BrowserUploadInput,
  createHaulClient,
  type GetToken,
  type HaulClient,
  type HaulClientOptions,
  HaulError,
  type HaulErrorCode,
  isHaulError,
  type LinkJson,
  type ReactNativeFile,
  type ResumeStorage,
  type UploadHandle,
  type UploadJson,
  type UploadList,
  type UploadOptions,
  type UploadProgress,
  type UploadState,
  type UploadStatus,
} from './index.js';
import { createHaulClient as createNodeClient, fileStorage, type NodeUploadInput } from './node/index.js';

describe('public types', () => {
  it('records are the types inferred from the server zod schemas', () => {
    expectTypeOf<UploadJson>().toEqualTypeOf<z.infer<typeof uploadSchema>>();
    expectTypeOf<UploadList>().toEqualTypeOf<z.infer<typeof uploadListSchema>>();
    expectTypeOf<LinkJson>().toEqualTypeOf<z.infer<typeof linkSchema>>();
    expectTypeOf<UploadStatus>().toEqualTypeOf<z.infer<typeof uploadStatusSchema>>();
    expectTypeOf<UploadJson>().not.toBeAny();
    expectTypeOf<UploadJson['status']>().toEqualTypeOf<UploadStatus>();
  });

  it('the client and the upload handle', () => {
    expectTypeOf(createHaulClient).parameter(0).toEqualTypeOf<HaulClientOptions>();
    expectTypeOf(createHaulClient).returns.toEqualTypeOf<HaulClient<BrowserUploadInput>>();
    expectTypeOf(createNodeClient).returns.toEqualTypeOf<HaulClient<NodeUploadInput>>();
    type Client = HaulClient<BrowserUploadInput>;
    expectTypeOf<Client['upload']>().parameters.toEqualTypeOf<[input: BrowserUploadInput, options?: UploadOptions]>();
    expectTypeOf<Client['upload']>().returns.toEqualTypeOf<UploadHandle>();
    expectTypeOf<UploadHandle['result']>().toEqualTypeOf<Promise<UploadJson>>();
    expectTypeOf<UploadHandle['pause']>().toEqualTypeOf<() => void>();
    expectTypeOf<UploadHandle['resume']>().toEqualTypeOf<() => void>();
    expectTypeOf<UploadHandle['abort']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<UploadHandle['state']>().toEqualTypeOf<UploadState>();
    expectTypeOf<UploadHandle['id']>().toEqualTypeOf<string | null>();
    expectTypeOf<Client['waitForReady']>().returns.toEqualTypeOf<Promise<UploadJson>>();
    expectTypeOf<Client['get']>().returns.toEqualTypeOf<Promise<UploadJson>>();
    expectTypeOf<Client['list']>().returns.toEqualTypeOf<Promise<UploadList>>();
    expectTypeOf<Client['listAll']>().returns.toEqualTypeOf<AsyncIterable<UploadJson>>();
    expectTypeOf<Client['delete']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<Client['downloadUrl']>().toEqualTypeOf<(id: string) => string>();
    expectTypeOf<Client['createLink']>().returns.toEqualTypeOf<Promise<LinkJson>>();
    expectTypeOf<NonNullable<Parameters<Client['list']>[0]>['status']>().toEqualTypeOf<UploadStatus | readonly UploadStatus[] | undefined>();
  });

  it('progress: sent, acknowledged, speed, ETA', () => {
    expectTypeOf<UploadProgress>().toEqualTypeOf<{ bytesSent: number; bytesAcknowledged: number; bytesTotal: number | null; speed: number; etaSeconds: number | null }>();
    expectTypeOf<NonNullable<UploadOptions['onProgress']>>().parameter(0).toEqualTypeOf<UploadProgress>();
    expectTypeOf<NonNullable<UploadOptions['onStatus']>>().parameter(0).toEqualTypeOf<UploadJson>();
  });

  it('inputs per platform', () => {
    expectTypeOf<File>().toExtend<BrowserUploadInput>();
    expectTypeOf<Blob>().toExtend<BrowserUploadInput>();
    expectTypeOf<Uint8Array>().toExtend<BrowserUploadInput>();
    expectTypeOf<ReactNativeFile>().toExtend<BrowserUploadInput>();
    expectTypeOf<string>().not.toExtend<BrowserUploadInput>();
    expectTypeOf<string>().toExtend<NodeUploadInput>();
    expectTypeOf<URL>().toExtend<NodeUploadInput>();
    expectTypeOf<Buffer>().toExtend<NodeUploadInput>();
    expectTypeOf<Readable>().toExtend<NodeUploadInput>();
    expectTypeOf<number>().not.toExtend<NodeUploadInput>();
  });

  it("errors: one class, the server's codes and the SDK's", () => {
    expectTypeOf<ErrorCode>().toExtend<HaulErrorCode>();
    expectTypeOf<'UPLOAD_INFECTED' | 'NETWORK_ERROR' | 'ABORTED'>().toExtend<HaulErrorCode>();
    expectTypeOf<HaulError['code']>().toEqualTypeOf<HaulErrorCode>();
    expectTypeOf<HaulError['status']>().toEqualTypeOf<number>();
    expectTypeOf<HaulError['retryable']>().toEqualTypeOf<boolean>();
    expectTypeOf<HaulError['upload']>().toEqualTypeOf<UploadJson | undefined>();
    expectTypeOf(isHaulError).guards.toEqualTypeOf<HaulError>();
    expect(new HaulError('TIMEOUT', 'x')).toBeInstanceOf(Error);
  });

  it('options: tokens, storage (localStorage, AsyncStorage-like, files), no `any` anywhere', () => {
    expectTypeOf<GetToken>().returns.toEqualTypeOf<string | null | undefined | Promise<string | null | undefined>>();
    expectTypeOf<Storage>().toExtend<ResumeStorage>();
    expectTypeOf<{ getItem(k: string): Promise<string | null>; setItem(k: string, v: string): Promise<void>; removeItem(k: string): Promise<void> }>().toExtend<ResumeStorage>();
    expectTypeOf(fileStorage).returns.toEqualTypeOf<ResumeStorage>();
    expectTypeOf<HaulClientOptions['storage']>().toEqualTypeOf<ResumeStorage | false | undefined>();
    expectTypeOf<UploadOptions>().not.toBeAny();
    expectTypeOf<HaulClientOptions>().not.toBeAny();
  });

  it('misuse does not compile', () => {
    const client = createHaulClient({ endpoint: 'http://127.0.0.1:1/files/', getToken: () => 't', storage: false, connectivity: false });
    const compileOnly = () => {
      // @ts-expect-error a file path is a Node input; the default entry takes Blobs, bytes, RN files
      client.upload('./file.txt');
      // @ts-expect-error metadata values are strings
      client.upload(new Blob([]), { metadata: { size: 12 } });
      // @ts-expect-error not a status
      void client.list({ status: 'done' });
      // @ts-expect-error getToken is required
      createHaulClient({ endpoint: '/files/' });
    };
    expect(typeof compileOnly).toBe('function');
  });
});
