/**
 * The control plane's own certificates, made with openssl: a CA and serving
 * certificate for kube-apiserver, a client CA and an admin client
 * certificate (group system:masters, so RBAC lets the tests do anything),
 * and the service-account signing key. The webhook's certificate is not made
 * here: it comes from certs/generate.sh, the tool users run.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr || String(err)}`);
  }
}

/** A certificate and its private key, as PEM file paths. */
export interface KeyPair {
  cert: string;
  key: string;
}

/** Makes an ECDSA P-256 private key (fast to generate, accepted by Go and Node). */
export async function newKey(file: string): Promise<void> {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

/** Makes a self-signed CA named `name` in `dir`. */
export async function newCA(dir: string, name: string): Promise<KeyPair> {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await newKey(pair.key);
  await openssl([
    'req', '-x509', '-new', '-key', pair.key, '-sha256', '-days', '1',
    '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-out', pair.cert,
  ]);
  return pair;
}

/** What to put in a certificate issued by {@link issue}. */
export interface CertificateRequest {
  /** File name stem in the output directory. */
  name: string;
  /** Subject, e.g. `/O=system:masters/CN=admin`. */
  subject: string;
  usage: 'serverAuth' | 'clientAuth';
  /** subjectAltName entries, e.g. `IP:127.0.0.1`; servers need at least one. */
  sans?: string[];
}

/** Issues a certificate signed by `ca` into `dir`. Valid for one day: runs are short. */
export async function issue(ca: KeyPair, dir: string, request: CertificateRequest): Promise<KeyPair> {
  const pair = { cert: join(dir, `${request.name}.crt`), key: join(dir, `${request.name}.key`) };
  const csr = join(dir, `${request.name}.csr`);
  const ext = join(dir, `${request.name}.ext`);
  await newKey(pair.key);
  await openssl(['req', '-new', '-key', pair.key, '-subj', request.subject, '-out', csr]);
  const extensions = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${request.usage}`,
  ];
  if (request.sans?.length) extensions.push(`subjectAltName=${request.sans.join(',')}`);
  await writeFile(ext, `${extensions.join('\n')}\n`);
  await openssl([
    'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial',
    '-sha256', '-days', '1', '-extfile', ext, '-out', pair.cert,
  ]);
  return pair;
}

/** Everything kube-apiserver and its admin client need to talk over mutual TLS. */
export interface ControlPlanePKI {
  /** CA that signed the API server's serving certificate (the kubeconfig trusts it). */
  servingCA: KeyPair;
  serving: KeyPair;
  /** CA the API server trusts for client certificates (`--client-ca-file`). */
  clientCA: KeyPair;
  /** CN=admin, O=system:masters: the RBAC superuser group. */
  admin: KeyPair;
  /** Signs service-account tokens (`--service-account-signing-key-file`). */
  serviceAccountKey: string;
  /** Verifies them (`--service-account-key-file`, which takes public keys only). */
  serviceAccountPublicKey: string;
}

/** Makes the control plane's certificates and keys in `dir`. */
export async function makeControlPlanePKI(dir: string): Promise<ControlPlanePKI> {
  const [servingCA, clientCA] = await Promise.all([newCA(dir, 'serving-ca'), newCA(dir, 'client-ca')]);
  const serviceAccountKey = join(dir, 'service-account.key');
  const serviceAccountPublicKey = join(dir, 'service-account.pub');
  const [serving, admin] = await Promise.all([
    issue(servingCA, dir, {
      name: 'apiserver',
      subject: '/CN=kube-apiserver',
      usage: 'serverAuth',
      sans: ['IP:127.0.0.1', 'DNS:localhost'],
    }),
    issue(clientCA, dir, { name: 'admin', subject: '/O=system:masters/CN=admin', usage: 'clientAuth' }),
    newKey(serviceAccountKey).then(() =>
      openssl(['pkey', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPublicKey]),
    ),
  ]);
  return { servingCA, serving, clientCA, admin, serviceAccountKey, serviceAccountPublicKey };
}
