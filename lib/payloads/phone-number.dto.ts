import { Transform } from 'class-transformer';
import { IsString, Matches, MaxLength } from 'class-validator';
import { WxOpenDataPayload } from './open-data-payload.dto.js';

/**
 * A user's phone number, from the encrypted `getPhoneNumber` payload (old flow) or from
 * `getuserphonenumber` (code flow).
 *
 * @public
 */
export class WxPhoneNumber extends WxOpenDataPayload {
  /** With the country code for numbers outside mainland China, e.g. `+1 202555...`. */
  @IsString()
  @MaxLength(32)
  phoneNumber!: string;

  /** Without the country code. */
  @IsString()
  @MaxLength(32)
  purePhoneNumber!: string;

  /** Digits only. WeChat documents a string but has sent the number 86; both become `"86"`. */
  @Transform(({ value }: { value: unknown }) => (typeof value === 'number' ? String(value) : value))
  @IsString()
  @Matches(/^[0-9]{1,4}$/)
  countryCode!: string;
}
