import { Module } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { WxOpenDataModule } from 'nestjs-wx-open-data';
import { AuthController } from './auth.controller.js';
import { MeController } from './me.controller.js';
import { wxConfig } from './wx.config.js';

@Module({
  imports: [
    ConfigModule.forRoot({ ignoreEnvFile: true, load: [wxConfig] }),
    WxOpenDataModule.forRootAsync({
      imports: [ConfigModule.forFeature(wxConfig)],
      inject: [wxConfig.KEY],
      useFactory: (wx: ConfigType<typeof wxConfig>) => wx,
      isGlobal: true,
    }),
  ],
  controllers: [AuthController, MeController],
})
export class AppModule {}
