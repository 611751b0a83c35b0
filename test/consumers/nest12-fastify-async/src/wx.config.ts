import { registerAs } from '@nestjs/config';
import type { WxOpenDataModuleOptions } from 'nestjs-wx-open-data';

/** The `wx` namespace of the configuration, read from the environment when Nest builds it. */
export const wxConfig = registerAs('wx', (): WxOpenDataModuleOptions => ({
  appId: process.env.WX_APP_ID,
  appSecret: process.env.WX_APP_SECRET,
  apiBaseUrl: process.env.WX_API_BASE_URL,
}));
