import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { WxOpenDataModule, type WxOpenDataModuleOptions } from 'nestjs-wx-open-data';
import { AuthController } from './auth.controller.js';
import { GroupsController } from './groups.controller.js';
import {
  identityFromPassport,
  JWT_IDENTITY_IMPORTS,
  JwtAuthController,
  JwtMeController,
  JwtStrategy,
} from './jwt-identity.js';
import { MeController } from './me.controller.js';
import { MoreController } from './more.controller.js';
import { WECHAT_ENDPOINT, WeChatEndpointModule, type WeChatEndpoint } from './wechat-endpoint.js';

/** `SAMPLE_IDENTITY=jwt`: the app's own JWT login and `resolveIdentity` (README, "Bring your own identity"). */
const jwtIdentity = process.env['SAMPLE_IDENTITY'] === 'jwt';

@Module({
  imports: [
    ...(jwtIdentity ? JWT_IDENTITY_IMPORTS : []),
    ConfigModule.forRoot({ isGlobal: true, envFilePath: ['.env', 'sample/.env'] }),
    WxOpenDataModule.forRootAsync({
      imports: [WeChatEndpointModule],
      inject: [WECHAT_ENDPOINT, ConfigService],
      useFactory: (endpoint: WeChatEndpoint, config: ConfigService): WxOpenDataModuleOptions => {
        const redisUrl = config.get<string>('REDIS_URL');
        return {
          appId: endpoint.appId,
          appSecret: endpoint.appSecret,
          apiBaseUrl: endpoint.apiBaseUrl,
          // Sessions shared by every instance when REDIS_URL is set; the memory store otherwise.
          ...(redisUrl ? { redis: { url: redisUrl } } : {}),
          ...(jwtIdentity ? { resolveIdentity: identityFromPassport } : {}),
        };
      },
    }),
    WeChatEndpointModule,
  ],
  controllers: jwtIdentity
    ? [JwtAuthController, JwtMeController]
    : [AuthController, MeController, GroupsController, MoreController],
  providers: jwtIdentity ? [JwtStrategy] : [],
})
export class AppModule {}
