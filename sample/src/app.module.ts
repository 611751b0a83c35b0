import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { WxOpenDataModule, type WxOpenDataModuleOptions } from 'nestjs-wx-open-data';
import { AuthController } from './auth.controller.js';
import { GroupsController } from './groups.controller.js';
import { MeController } from './me.controller.js';
import { MoreController } from './more.controller.js';
import { WECHAT_ENDPOINT, WeChatEndpointModule, type WeChatEndpoint } from './wechat-endpoint.js';

@Module({
  imports: [
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
        };
      },
    }),
    WeChatEndpointModule,
  ],
  controllers: [AuthController, MeController, GroupsController, MoreController],
})
export class AppModule {}
