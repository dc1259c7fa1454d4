/**
 * metav1.MicroTime as the API server writes it: RFC 3339 in UTC with six
 * fractional digits (apimachinery meta/v1 micro_time.go, RFC3339Micro
 * "2006-01-02T15:04:05.000000Z07:00"). A Date holds milliseconds, so the
 * last three digits are zero.
 */

/** `date` as a MicroTime string, e.g. `2026-11-24T15:30:49.123000Z`. */
export function formatMicroTime(date: Date): string {
  return `${date.toISOString().slice(0, 23)}000Z`;
}

/** A Date that serializes as a MicroTime (the Lease's acquireTime and renewTime). */
export class MicroTime extends Date {
  override toISOString(): string {
    return formatMicroTime(new Date(this.getTime()));
  }

  override toJSON(): string {
    return this.toISOString();
  }
}

/** The Lease elector's `microTime` option. */
export const microTime = (date: Date): Date => new MicroTime(date.getTime());
