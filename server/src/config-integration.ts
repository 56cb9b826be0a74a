import { DEFAULT_SCOPES_CLAIM } from '@haul/api';
import { z } from 'zod';
import { parseServiceTokens } from './auth/service-tokens.js';
import { int, optionalString } from './config-values.js';
import { parseWebhookSecret } from './webhooks/signature.js';

/**
 * The settings of Haul inside an application (README, "Access, hooks and webhooks"): scope claims,
 * service credentials, the access hook and webhooks. Part of config.ts's one schema.
 */
export const integrationEnv = {
  JWT_SCOPES_CLAIM: z.string().regex(/^[A-Za-z0-9_.:/-]{1,100}$/, 'a JWT claim name').default(DEFAULT_SCOPES_CLAIM),
  SERVICE_TOKENS: optionalString,
  HOOKS_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  HOOKS_SECRET: optionalString,
  HOOKS_TIMEOUT_MS: int(2000, 100).pipe(z.number().max(10_000)),
  HOOKS_CACHE_SECONDS: int(10, 0).pipe(z.number().max(3600)),
  HOOKS_CACHE_MAX_ENTRIES: int(10_000, 0).pipe(z.number().max(1_000_000)),
  WEBHOOK_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
  WEBHOOK_SECRET: optionalString,
  WEBHOOK_TIMEOUT_MS: int(10_000, 100).pipe(z.number().max(60_000)),
  WEBHOOK_MAX_BACKOFF_SECONDS: int(600, 1).pipe(z.number().max(86_400)),
};

const integrationEnvSchema = z.object(integrationEnv);
type IntegrationEnv = z.output<typeof integrationEnvSchema>;

const keyOf = (secret: string | undefined) => {
  const parsed = secret === undefined ? undefined : parseWebhookSecret(secret);
  return parsed && 'key' in parsed ? parsed.key : undefined;
};

export function checkIntegrationEnv(env: IntegrationEnv, ctx: z.RefinementCtx): void {
  const tokens = parseServiceTokens(env.SERVICE_TOKENS);
  if ('problem' in tokens) ctx.addIssue({ code: 'custom', path: ['SERVICE_TOKENS'], message: tokens.problem });
  for (const name of ['WEBHOOK_SECRET', 'HOOKS_SECRET'] as const) {
    const value = env[name];
    const parsed = value === undefined ? undefined : parseWebhookSecret(value);
    if (parsed && 'problem' in parsed) ctx.addIssue({ code: 'custom', path: [name], message: parsed.problem });
  }
  if (env.WEBHOOK_URL && !env.WEBHOOK_SECRET) {
    ctx.addIssue({ code: 'custom', path: ['WEBHOOK_SECRET'], message: 'WEBHOOK_URL needs WEBHOOK_SECRET (whsec_…): receivers verify every webhook' });
  }
  if (env.HOOKS_URL && !env.HOOKS_SECRET && !env.WEBHOOK_SECRET) {
    ctx.addIssue({ code: 'custom', path: ['HOOKS_SECRET'], message: 'HOOKS_URL needs HOOKS_SECRET (or WEBHOOK_SECRET): requests and answers are signed' });
  }
}

/** The grouped shape the server reads (Config's `services`, `hooks`, `webhooks`, `auth.scopesClaim`). */
export function integrationConfig(env: IntegrationEnv) {
  const tokens = parseServiceTokens(env.SERVICE_TOKENS);
  const hooksKey = keyOf(env.HOOKS_SECRET ?? env.WEBHOOK_SECRET);
  const webhookKey = keyOf(env.WEBHOOK_SECRET);
  return {
    scopesClaim: env.JWT_SCOPES_CLAIM,
    serviceTokens: 'tokens' in tokens ? tokens.tokens : [],
    /** The access hook; undefined without HOOKS_URL. */
    hooks: env.HOOKS_URL && hooksKey
      ? { url: env.HOOKS_URL, key: hooksKey, timeoutMs: env.HOOKS_TIMEOUT_MS, cacheMs: env.HOOKS_CACHE_SECONDS * 1000, cacheMaxEntries: env.HOOKS_CACHE_MAX_ENTRIES }
      : undefined,
    webhooks: {
      /** Where events go; undefined: nowhere (unless a library user passes a sender). */
      endpoint: env.WEBHOOK_URL && webhookKey ? { url: env.WEBHOOK_URL, key: webhookKey } : undefined,
      timeoutMs: env.WEBHOOK_TIMEOUT_MS,
      maxBackoffMs: env.WEBHOOK_MAX_BACKOFF_SECONDS * 1000,
    },
  };
}

export type IntegrationConfig = ReturnType<typeof integrationConfig>;
