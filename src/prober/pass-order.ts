/**
 * The order of one prober pass (`probe --once`), fair across namespaces: one
 * Service per namespace in turn, so a namespace full of slow servers delays
 * each other namespace by at most one probe per round instead of starving
 * it. Within a namespace, what the last pass did not reach goes first, then
 * Services never probed, then the rest by name: with a pass deadline, what
 * one pass leaves out the next one starts with. Pure.
 */
import type { V1Service } from '@kubernetes/client-node';
import { readTransportStatus } from './transport-status.ts';

/** `namespace/name`, the key passes remember Services by. */
export function serviceKey(service: V1Service): string {
  return `${service.metadata?.namespace ?? ''}/${service.metadata?.name ?? ''}`;
}

/** Orders `services` for one pass; `carriedOver` holds the keys the last pass did not reach. */
export function fairPassOrder(services: readonly V1Service[], carriedOver: ReadonlySet<string>): V1Service[] {
  const byNamespace = new Map<string, V1Service[]>();
  for (const service of services) {
    const namespace = service.metadata?.namespace ?? '';
    const list = byNamespace.get(namespace) ?? [];
    list.push(service);
    byNamespace.set(namespace, list);
  }
  const rank = (service: V1Service): number =>
    carriedOver.has(serviceKey(service)) ? 0 : readTransportStatus(service.metadata?.annotations) ? 2 : 1;
  const queues = [...byNamespace.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, list]) =>
      list.sort((a, b) => rank(a) - rank(b) || ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1)),
    );
  const order: V1Service[] = [];
  for (let round = 0; order.length < services.length; round++) {
    for (const queue of queues) {
      const next = queue[round];
      if (next) order.push(next);
    }
  }
  return order;
}
