import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { WxOpenDataModule, type WxOpenDataModuleOptions } from 'nestjs-wx-open-data';
import { AuthController } from './auth.controller.js';
import { GroupsController } from './groups.controller.js';
import { MeController } from './me.controller.js';
import { WECHAT_ENDPOINT, WeChatEndpointModule, type WeChatEndpoint } from './wechat-endpoint.js';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, envFilePath: ['.env', 'sample/.env'] }),
    WxOpenDataModule.forRootAsync({
      imports: [WeChatEndpointModule],
      inject: [WECHAT_ENDPOINT],
      useFactory: (endpoint: WeChatEndpoint): WxOpenDataModuleOptions => ({
        appId: endpoint.appId,
        appSecret: endpoint.appSecret,
        apiBaseUrl: endpoint.apiBaseUrl,
      }),
    }),
    WeChatEndpointModule,
  ],
  controllers: [AuthController, MeController, GroupsController],
})
export class AppModule {}
