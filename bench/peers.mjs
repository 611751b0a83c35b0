// The peers of the crypto path: the same work (signature + decrypt + parse + watermark appid) on
// the same fixture, done the way each is documented to be used.
import { createDecipheriv, createHash } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * WeChat's published WXBizDataCrypt algorithm, written here from its description (the sample
 * code WeChat offers for download): base64-decode key, iv and data; AES-128-CBC with OpenSSL's
 * automatic padding; UTF-8; JSON.parse; compare `watermark.appid` with the app's own. No age
 * check, no identity binding. Its signature check is the documented `sha1(rawData +
 * session_key)`, compared with `===`.
 */
export class WXBizDataCrypt {
  constructor(appId, sessionKey) {
    this.appId = appId;
    this.sessionKey = sessionKey;
  }

  decryptData(encryptedData, iv) {
    const key = Buffer.from(this.sessionKey, 'base64');
    const decipher = createDecipheriv('aes-128-cbc', key, Buffer.from(iv, 'base64'));
    decipher.setAutoPadding(true);
    const data = Buffer.from(encryptedData, 'base64');
    const text = decipher.update(data, undefined, 'utf8') + decipher.final('utf8');
    const decoded = JSON.parse(text);
    if (decoded.watermark.appid !== this.appId) throw new Error('Illegal Buffer');
    return decoded;
  }
}

/** `signature === sha1(rawData + session_key)`, hex, as WeChat's page and both SDKs spell it. */
const sha1Signature = (rawData, sessionKey) =>
  createHash('sha1')
    .update(rawData + sessionKey, 'utf8')
    .digest('hex');

/**
 * node-easywechat 3.x: `new MiniApp(config).getUtils().decryptSession(sessionKey, iv, encrypted)`
 * (JSON-parsed, no watermark check, no signature helper for mini programs). Its package root
 * (`require('node-easywechat').MiniApp`, as its README says) does not load with the installed
 * node-socialite 1.5 (a removed `node-socialite/dist/Core/ProviderInterface`), so the MiniApp class
 * is required from its own file: the same class the root re-exports.
 */
function loadEasyWeChatMiniApp() {
  try {
    return require('node-easywechat').MiniApp;
  } catch {
    return require('node-easywechat/dist/MiniApp/Application');
  }
}

/**
 * The crypto-path cases of the peers, keyed by name, for `measure`. Each verifies the signature,
 * decrypts, parses and checks the watermark's appid, and throws on any failure.
 */
export function peerCases(f) {
  const { appId, rawData, signature, encryptedData, iv } = f;
  const sessionKey = f.session.sessionKey;

  const wxbiz = new WXBizDataCrypt(appId, sessionKey);

  const MiniApp = loadEasyWeChatMiniApp();
  const easyUtils = new MiniApp({ app_id: appId, secret: 'bench-secret' }).getUtils();

  const { MiniProgram, Store } = require('wechat-jssdk');
  // A plain in-memory Store: the default FileStore would write wechat-info.json into the cwd.
  const jssdk = new MiniProgram({
    miniProgram: { appId, appSecret: 'bench-secret' },
    store: new Store({ noInterval: true }),
  });

  return {
    wxbizdatacrypt: () => {
      if (sha1Signature(rawData, sessionKey) !== signature) throw new Error('bad signature');
      return wxbiz.decryptData(encryptedData, iv);
    },
    node_easywechat: () => {
      if (sha1Signature(rawData, sessionKey) !== signature) throw new Error('bad signature');
      const data = easyUtils.decryptSession(sessionKey, iv, encryptedData);
      // node-easywechat leaves the watermark to the caller: the check WeChat's page asks for.
      if (data.watermark?.appid !== appId) throw new Error('watermark appid mismatch');
      return data;
    },
    // Promise API: awaited per call, as its docs use it (`.then`).
    wechat_jssdk: {
      async: true,
      fn: async () => {
        await jssdk.verifySignature(rawData, signature, sessionKey);
        return jssdk.decryptData(encryptedData, iv, sessionKey);
      },
    },
  };
}

/** Versions of the peers, for the report. */
export function peerVersions() {
  const version = (name) => {
    try {
      return require(`${name}/package.json`).version;
    } catch {
      return 'unknown';
    }
  };
  return { 'node-easywechat': version('node-easywechat'), 'wechat-jssdk': version('wechat-jssdk') };
}
