/**
 * The admission response vocabulary: handlers say `allowed()`, `denied()`,
 * `patched()` or `errored()`, optionally `withWarnings()`, and only
 * {@link completeReview} builds the AdmissionReview envelope around it.
 */
import type { Operation } from 'fast-json-patch';
import type { Finding } from '../policy/finding.ts';

export interface AdmissionStatus {
  code: number;
  message: string;
  reason?: string;
  details?: { causes: Array<{ field: string; message: string; reason: string }> };
}

export interface AdmissionResult {
  allowed: boolean;
  status?: AdmissionStatus;
  patch?: Operation[];
  warnings?: string[];
}

export function allowed(): AdmissionResult {
  return { allowed: true };
}

/** A refusal of the object itself (HTTP 403 in the status, as controller-runtime's `Denied`). */
export function denied(message: string, causes: readonly Finding[] = []): AdmissionResult {
  return {
    allowed: false,
    status: {
      code: 403,
      reason: 'Forbidden',
      message,
      ...(causes.length > 0 && {
        details: { causes: causes.map((c) => ({ field: c.field, message: c.message, reason: 'FieldValueInvalid' })) },
      }),
    },
  };
}

/** Allowed with changes; an empty patch is a plain `allowed()` so no patch fields go out. */
export function patched(patch: Operation[]): AdmissionResult {
  return patch.length > 0 ? { allowed: true, patch } : allowed();
}

/** The request could not be judged: a client mistake (4xx) or our failure (5xx). */
export function errored(code: number, message: string): AdmissionResult {
  return { allowed: false, status: { code, message } };
}

export function withWarnings(result: AdmissionResult, warnings: readonly string[]): AdmissionResult {
  return warnings.length > 0 ? { ...result, warnings: [...(result.warnings ?? []), ...warnings] } : result;
}

export const ADMISSION_API_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'] as const;
export type AdmissionApiVersion = (typeof ADMISSION_API_VERSIONS)[number];

/** The AdmissionReview sent back: same apiVersion as asked, the request's uid, the patch in base64. */
export function completeReview(apiVersion: AdmissionApiVersion, uid: string, result: AdmissionResult): Record<string, unknown> {
  const response: Record<string, unknown> = { uid, allowed: result.allowed };
  if (result.status) response.status = result.status;
  if (result.patch && result.patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(result.patch)).toString('base64');
  }
  if (result.warnings && result.warnings.length > 0) response.warnings = result.warnings;
  return { apiVersion, kind: 'AdmissionReview', response };
}
