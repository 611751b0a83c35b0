import 'reflect-metadata';
import { ValidationPipe, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { pathToFileURL } from 'node:url';
import { AppModule } from './app.module.js';

/**
 * Creates the sample app and listens on `port` (0: a free one) on 127.0.0.1. `logLevels: []`
 * silences Nest's logger.
 */
export async function startSample(
  port = Number(process.env['PORT'] ?? 3000),
  logLevels: LogLevel[] = ['log', 'warn', 'error', 'fatal'],
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: logLevels });
  // Open-data bodies are a few KiB; anything near this limit is not one (413 before parsing).
  app.useBodyParser('json', { limit: '16kb' });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }));
  app.enableShutdownHooks();
  const openApi = new DocumentBuilder()
    .setTitle('nestjs-wx-open-data sample')
    .setDescription('Mini program login and verified, decrypted open data')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, openApi));
  await app.listen(port, '127.0.0.1');
  return app;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await startSample();
  console.log(`sample listening on ${await app.getUrl()}`);
}
