import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';

export type AdapterName = 'express' | 'fastify';

/** Both HTTP platforms: every e2e suite runs over each with `describe.each(ADAPTERS)`. */
export const ADAPTERS: AdapterName[] = ['express', 'fastify'];

/** A real Nest application listening on a loopback port, on the given platform. */
export async function startTestApp(
  adapter: AdapterName,
  metadata: ModuleMetadata,
  logger?: LoggerService,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app = moduleRef.createNestApplication(
    adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(),
    {
      logger: logger ?? false,
    },
  );
  if (logger) app.useLogger(logger);
  await app.listen(0, '127.0.0.1');
  return app;
}
