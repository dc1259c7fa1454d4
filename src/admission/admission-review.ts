/**
 * Decoding of an AdmissionReview request body. Every way a body can be wrong
 * maps to a 4xx with a message that names the problem; the uid and
 * apiVersion are recovered whenever the body has them, so the answer can
 * still be a well-formed AdmissionReview.
 */
import { z } from 'zod';
import { ADMISSION_API_VERSIONS, type AdmissionApiVersion } from './response.ts';
import { acceptor, checkingShape } from './shape-check.ts';

const GroupVersionKindShape = z.looseObject({ group: z.string(), version: z.string(), kind: z.string() });

export const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;
export type AdmissionOperation = (typeof OPERATIONS)[number];

/** The AdmissionRequest envelope: the fields the webhook reads, every other one let through. */
export const AdmissionRequestShape = z.looseObject({
  uid: z.string().min(1),
  kind: GroupVersionKindShape,
  namespace: z.string().optional(),
  name: z.string().optional(),
  operation: z.enum(OPERATIONS),
  object: z.unknown().optional(),
  oldObject: z.unknown().optional(),
  dryRun: z.boolean().optional(),
});

/** The request part of an AdmissionReview; `object` stays raw, as received, for diffing. */
export type AdmissionRequest = z.infer<typeof AdmissionRequestShape>;

/**
 * The envelope is checked without a copy (shape-check.ts): the shape has no
 * defaults and no transforms, so once it passes, the request as parsed is
 * already the AdmissionRequest it describes, every field it does not name
 * (userInfo, options, …) still there. The acceptor reads the few fields
 * the shape names and builds nothing; zod's checking twin still builds its
 * output of them (1.2-1.4 KiB per review, `npm run bench:request-path`),
 * so it runs only for an envelope the acceptor does not accept, and decides
 * and words every refusal as before.
 */
const acceptsAdmissionRequest = acceptor(AdmissionRequestShape);
const checkAdmissionRequest = checkingShape(AdmissionRequestShape);

export type DecodedAdmissionReview =
  | { ok: true; apiVersion: AdmissionApiVersion; request: AdmissionRequest }
  | { ok: false; code: number; message: string; apiVersion?: AdmissionApiVersion; uid?: string };

const MEDIA_TYPE_JSON = /^application\/json\s*(;|$)/i;

export function decodeAdmissionReview(body: Buffer, contentType: string | undefined): DecodedAdmissionReview {
  if (!contentType || !MEDIA_TYPE_JSON.test(contentType)) {
    return { ok: false, code: 415, message: `content type must be application/json, got ${contentType ? `"${contentType}"` : 'none'}` };
  }
  if (body.length === 0) return { ok: false, code: 400, message: 'request body is empty: expected an AdmissionReview' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return { ok: false, code: 400, message: `request body is not valid JSON: ${(err as Error).message}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, code: 400, message: 'request body is not a JSON object: expected an AdmissionReview' };
  }
  const review = parsed as Record<string, unknown>;
  const request = review.request as Record<string, unknown> | undefined;
  const uid = typeof request?.uid === 'string' && request.uid.length > 0 ? request.uid : undefined;
  const apiVersion = (ADMISSION_API_VERSIONS as readonly unknown[]).includes(review.apiVersion)
    ? (review.apiVersion as AdmissionApiVersion)
    : undefined;

  if (!apiVersion) {
    return {
      ok: false,
      code: 400,
      message: `apiVersion ${JSON.stringify(review.apiVersion ?? null)} is not supported: use ${ADMISSION_API_VERSIONS.join(' or ')}`,
      ...(uid && { uid }),
    };
  }
  if (review.kind !== 'AdmissionReview') {
    return { ok: false, code: 400, message: `kind ${JSON.stringify(review.kind ?? null)} is not AdmissionReview`, apiVersion, ...(uid && { uid }) };
  }
  if (typeof request !== 'object' || request === null) {
    return { ok: false, code: 400, message: 'AdmissionReview has no request', apiVersion };
  }
  if (!acceptsAdmissionRequest(request)) {
    const checked = checkAdmissionRequest.safeParse(request);
    if (!checked.success) {
      const issues = checked.error.issues.map((i) => `request.${i.path.join('.')}: ${i.message}`).join('; ');
      return { ok: false, code: 400, message: `malformed AdmissionReview: ${issues}`, apiVersion, ...(uid && { uid }) };
    }
  }
  return { ok: true, apiVersion, request: request as AdmissionRequest };
}
