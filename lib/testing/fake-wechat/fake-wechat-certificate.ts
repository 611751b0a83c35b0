import { createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * What {@link mintPlatformCertificate} certifies.
 *
 * @public
 */
export interface FakePlatformCertificateSpec {
  /** The key that signs the certificate (self-signed) and whose public half it carries. */
  privateKey: KeyObject;
  /** Default `FakeWeChat platform`. */
  commonName?: string;
  /** Start of validity in milliseconds. Default: a day before now (or before `notAfter`, if earlier). */
  notBefore?: number;
  /** End of validity in milliseconds. Default: five years from now. */
  notAfter?: number;
}

const FIVE_YEARS_MS = 5 * 365 * 86_400_000;

/**
 * A self-signed X.509 v3 certificate (PEM, sha256WithRSAEncryption) for an RSA key: a stand-in
 * for WeChat's platform certificate, which the fake WeChat signs its answers with. Node can read
 * certificates but not make them; this writes the few DER structures one needs.
 *
 * @public
 */
export function mintPlatformCertificate(spec: FakePlatformCertificateSpec): string {
  const notAfter = spec.notAfter ?? Date.now() + FIVE_YEARS_MS;
  const notBefore = spec.notBefore ?? Math.min(Date.now(), notAfter) - 86_400_000;
  const name = der(
    0x30,
    der(
      0x31,
      der(0x30, der(0x06, Buffer.from([0x55, 0x04, 0x03])), utf8(spec.commonName ?? 'FakeWeChat platform')),
    ),
  );
  const sha256WithRsa = der(
    0x30,
    der(0x06, Buffer.from('2a864886f70d01010b', 'hex')),
    Buffer.from([0x05, 0x00]),
  );
  const serial = randomBytes(16);
  // A positive INTEGER in minimal DER: the top bit clear, and the first byte never zero.
  serial[0] = ((serial[0] as number) & 0x7f) | 0x40;
  const spki = createPublicKey(spec.privateKey).export({ type: 'spki', format: 'der' });
  const tbs = der(
    0x30,
    der(0xa0, der(0x02, Buffer.from([0x02]))),
    der(0x02, serial),
    sha256WithRsa,
    name,
    der(0x30, time(notBefore), time(notAfter)),
    name,
    spki,
  );
  const signature = sign('sha256', tbs, spec.privateKey);
  const certificate = der(
    0x30,
    tbs,
    sha256WithRsa,
    der(0x03, Buffer.concat([Buffer.from([0x00]), signature])),
  );
  const lines = certificate.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function der(tag: number, ...parts: Buffer[]): Buffer {
  const content = Buffer.concat(parts);
  const length = content.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else if (length < 0x100) header = Buffer.from([tag, 0x81, length]);
  else header = Buffer.from([tag, 0x82, length >> 8, length & 0xff]);
  return Buffer.concat([header, content]);
}

function utf8(text: string): Buffer {
  return der(0x0c, Buffer.from(text, 'utf8'));
}

/** UTCTime before 2050, GeneralizedTime from then on, as RFC 5280 requires. */
function time(ms: number): Buffer {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString(); // 2024-01-01T00:00:00.000Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  const year = Number(digits.slice(0, 4));
  return year < 2050 ? der(0x17, Buffer.from(`${digits.slice(2)}Z`)) : der(0x18, Buffer.from(`${digits}Z`));
}
