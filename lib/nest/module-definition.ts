import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { WxOpenDataModuleOptions } from './options.js';

/** Extras accepted by `forRoot` and `forRootAsync` beside the options. */
interface WxOpenDataModuleExtras {
  /** Register the module globally, so feature modules need not import it. Default `false`. */
  isGlobal: boolean;
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: WX_OPEN_DATA_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<WxOpenDataModuleOptions>({ moduleName: 'WxOpenData' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createWxOpenDataOptions')
  .setExtras<WxOpenDataModuleExtras>({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();

/**
 * `forRoot` options: {@link WxOpenDataModuleOptions} plus `isGlobal`.
 *
 * @public
 */
export type WxOpenDataModuleRootOptions = typeof OPTIONS_TYPE;

/**
 * `forRootAsync` options: `imports`, `inject`, `useFactory` | `useClass` | `useExisting`, plus
 * `isGlobal`.
 *
 * @public
 */
export type WxOpenDataModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;

/**
 * What a `useClass`/`useExisting` options provider implements.
 *
 * @public
 */
export interface WxOpenDataOptionsFactory {
  createWxOpenDataOptions(): WxOpenDataModuleOptions | Promise<WxOpenDataModuleOptions>;
}
