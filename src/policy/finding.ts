/**
 * A finding is one problem with one field: what is wrong, why it matters to
 * SSE clients, and how to fix it. Denials and warnings share the shape, so a
 * mode can turn one into the other without rewording.
 */
export interface Finding {
  /** Field path in the object, e.g. `spec.strategy.type` or `metadata.annotations[mcp-admission.dev/port]`. */
  field: string;
  /** The whole message a person reads: problem, consequence, fix. */
  message: string;
}

/** Outcome of validating one object. */
export interface Verdict {
  denials: Finding[];
  warnings: Finding[];
}

/** Renders a finding as one line, as kubectl shows warnings and denial causes. */
export function describeFinding(finding: Finding): string {
  return `${finding.field}: ${finding.message}`;
}

/** Field path of an annotation, in the bracket form Kubernetes uses for map keys. */
export function annotationField(key: string): string {
  return `metadata.annotations[${key}]`;
}
