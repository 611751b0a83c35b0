import { createCipheriv, createHash } from 'node:crypto';
import { signRawData } from '../../../lib/testing/index.js';
import { SEED } from './env.js';

/** The AppIDs the adversarial apps serve; a watermark naming another one is refused. */
export const APP_ID = 'wx0a1b2c3d4e5f6a7b';
export const OTHER_APP_ID = 'wx99887766554433ff';

/** The four built-in payload kinds, each on its own `@WxVerified(Dto)` route. */
export type PayloadKind = 'userInfo' | 'phone' | 'weRun' | 'share';
export const PAYLOAD_KINDS: readonly PayloadKind[] = ['userInfo', 'phone', 'weRun', 'share'];
export const KIND_ROUTES: Readonly<Record<PayloadKind, string>> = {
  userInfo: '/profile',
  phone: '/phone',
  weRun: '/werun',
  share: '/share',
};

/** A request body as a mini program posts it. */
export interface OpenDataBody {
  rawData?: string;
  signature?: string;
  encryptedData: string;
  iv: string;
}

/** Whose data it is and under which key. */
export interface BodyOwner {
  openid: string;
  unionid?: string;
  sessionKey: string;
  appId?: string;
}

/** 16 bytes derived from the suite's seed and a label: reproducible keys and ivs. */
export function seededBytes(label: string): Buffer {
  return createHash('sha256').update(`${SEED}:${label}`).digest().subarray(0, 16);
}

/** A session key (base64 of 16 bytes) derived from the seed and a label. */
export function seededSessionKey(label: string): string {
  return seededBytes(`key:${label}`).toString('base64');
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Encrypts `plaintext` exactly as given (it may hold keys JSON.stringify cannot write). */
export function encryptText(plaintext: string, sessionKey: string, iv: Buffer): OpenDataBody {
  const cipher = createCipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { encryptedData: ciphertext.toString('base64'), iv: iv.toString('base64') };
}

const AVATAR =
  'https://thirdwx.qlogo.cn/mmopen/vi_32/POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGKSyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg/132';

/** The signed plain half of user info, as WeChat orders it. */
export const PROFILE = {
  nickName: 'Adversary',
  gender: 1,
  language: 'zh_CN',
  city: 'Guangzhou',
  province: 'Guangdong',
  country: 'CN',
  avatarUrl: AVATAR,
};

/** The JSON text WeChat encrypts for `kind`, watermark at `timestamp`, fields in WeChat's order. */
export function payloadText(kind: PayloadKind, owner: BodyOwner, timestamp: number): string {
  const watermark = { timestamp, appid: owner.appId ?? APP_ID };
  switch (kind) {
    case 'userInfo':
      return JSON.stringify({
        openId: owner.openid,
        ...PROFILE,
        ...(owner.unionid === undefined ? {} : { unionId: owner.unionid }),
        watermark,
      });
    case 'phone':
      return JSON.stringify({
        phoneNumber: '13580006666',
        purePhoneNumber: '13580006666',
        countryCode: '86',
        watermark,
      });
    case 'weRun': {
      const midnight = Math.floor(timestamp / 86_400) * 86_400;
      const stepInfoList = Array.from({ length: 31 }, (_, day) => ({
        timestamp: midnight - day * 86_400,
        step: 4000 + ((day * 997) % 9000),
      }));
      return JSON.stringify({ stepInfoList, watermark });
    }
    case 'share':
      return JSON.stringify({ openGId: 'tGz3Xp4ZuyxYOVkPQeSlAe0WBaj4', watermark });
  }
}

let bodyCounter = 0;

/**
 * A valid body of `kind` for `owner`: user info carries its signed `rawData`; the others are
 * encrypted only, as WeChat sends them.
 */
export function validBody(
  kind: PayloadKind,
  owner: BodyOwner,
  options: { iv?: Buffer; timestamp?: number } = {},
): OpenDataBody {
  // A new iv for every body: with replay protection on, each ciphertext is accepted only once.
  const iv = options.iv ?? seededBytes(`iv:${kind}:${owner.openid}:${(bodyCounter += 1)}`);
  const encrypted = encryptText(
    payloadText(kind, owner, options.timestamp ?? nowSeconds()),
    owner.sessionKey,
    iv,
  );
  if (kind !== 'userInfo') return encrypted;
  const rawData = JSON.stringify(PROFILE);
  return { rawData, signature: signRawData(rawData, owner.sessionKey), ...encrypted };
}

/** Flips bit `bit` (0 = lowest bit of the first byte) of a base64 value; canonical base64 out. */
export function flipBit(base64: string, bit: number): string {
  const bytes = Buffer.from(base64, 'base64');
  const index = bit >> 3;
  bytes[index] = (bytes[index] ?? 0) ^ (1 << (bit & 7));
  return bytes.toString('base64');
}
