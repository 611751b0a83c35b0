/** AppIDs the tests configure. */
export const APP_ID = 'wx0123456789abcdef';
export const OTHER_APP_ID = 'wxfedcba9876543210';

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A watermark for `appid`, `ageSeconds` old. */
export function watermark(appid: string = APP_ID, ageSeconds = 0): { appid: string; timestamp: number } {
  return { appid, timestamp: nowSeconds() - ageSeconds };
}

/** User info as `wx.getUserInfo` decrypts, openId first as WeChat orders it. */
export function userInfoPayload(openId: string, appid: string = APP_ID): Record<string, unknown> {
  return {
    openId,
    nickName: 'Band',
    gender: 1,
    language: 'zh_CN',
    city: 'Guangzhou',
    province: 'Guangdong',
    country: 'CN',
    avatarUrl:
      'https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132',
    unionId: `u-${openId}`,
    watermark: watermark(appid),
  };
}

/** The `rawData` WeChat signs: the user info without identifiers or watermark. */
export function rawDataOf(payload: Record<string, unknown>): string {
  const { nickName, gender, language, city, province, country, avatarUrl } = payload;
  return JSON.stringify({ nickName, gender, language, city, province, country, avatarUrl });
}

export function phonePayload(countryCode: string | number = 86): Record<string, unknown> {
  return {
    phoneNumber: '13580006666',
    purePhoneNumber: '13580006666',
    countryCode,
    watermark: watermark(),
  };
}

export function weRunPayload(days = 31): Record<string, unknown> {
  const midnight = Math.floor(nowSeconds() / 86_400) * 86_400;
  return {
    stepInfoList: Array.from({ length: days }, (_, i) => ({
      timestamp: midnight - i * 86_400,
      step: 1000 + i,
    })),
    watermark: watermark(),
  };
}

export function shareInfoPayload(openGId = 'tGz3Xp4ZuyxYOVkPQeSlAe0WBaj4'): Record<string, unknown> {
  return { openGId, watermark: watermark() };
}

/** Flips one bit of a base64 value and re-encodes it canonically. */
export function flipBit(base64: string, bitIndex: number): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[bitIndex >> 3] = (bytes[bitIndex >> 3] ?? 0) ^ (1 << (bitIndex & 7));
  return bytes.toString('base64');
}
