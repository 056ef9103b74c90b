import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Expiring signed URLs for the files Switchboard serves itself (the local backend): an HMAC over
 * the action, the attachment and the expiry, so a link works for one file, one action and a limited
 * time, without a bearer token (an <img src> cannot send one). The key is derived from the server
 * secret, so every node of a cluster verifies what another signed.
 */
export class UrlSigner {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('switchboard attachment urls v1').digest();
  }

  /** `/v1/files/<id>/<variant>?exp=<unix s>&sig=<hex>`. */
  sign(action: 'get' | 'put', attachmentId: string, variant: string, expiresAtMs: number): string {
    const exp = Math.floor(expiresAtMs / 1000);
    const sig = this.mac(action, attachmentId, variant, exp);
    return `/v1/files/${attachmentId}/${variant}?exp=${exp}&sig=${sig}`;
  }

  /** True when `sig` was made by `sign` for these values and `exp` has not passed. */
  verify(
    action: 'get' | 'put',
    attachmentId: string,
    variant: string,
    exp: number,
    sig: string,
    nowMs: number,
  ): boolean {
    if (!Number.isSafeInteger(exp) || exp * 1000 < nowMs || !/^[0-9a-f]{64}$/.test(sig)) return false;
    const expected = Buffer.from(this.mac(action, attachmentId, variant, exp), 'hex');
    return timingSafeEqual(expected, Buffer.from(sig, 'hex'));
  }

  private mac(action: string, attachmentId: string, variant: string, exp: number): string {
    return createHmac('sha256', this.key)
      .update(`${action}\n${attachmentId}\n${variant}\n${exp}`)
      .digest('hex');
  }
}
