/**
 * Loading serve's Kubernetes access the way client-node's loadFromFile /
 * loadFromDefault does, without client-node: which file wins, the in-cluster
 * service account (its token read again as it rotates, an IPv6 host in
 * brackets), static credentials, clear errors for bad kubeconfigs, one pool
 * per TLS material, and client-node taking over what only it can do (an
 * exec user). No connection is made here; calls go to a real API server in
 * test/e2e (kube-connections, serve-modules).
 */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadKubeAccess, TOKEN_FILE_PERIOD_MS, type KubeAccess } from '../../../src/kubernetes/kube-access.ts';
import { KubeconfigError } from '../../../src/kubernetes/kubeconfig.ts';

type Json = Record<string, unknown>;

function kubeconfig(user: Json, cluster: Json = { server: 'https://127.0.0.1:6443' }, extra: Json = {}): Json {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'ctx',
    ...extra,
  };
}

const headersOf = async (access: KubeAccess): Promise<Record<string, string>> => (await access.connection(`${access.server}/api`, 'GET')).headers;

describe('loadKubeAccess', () => {
  let dir: string;
  const opened: KubeAccess[] = [];
  const load = async (options: Parameters<typeof loadKubeAccess>[0]): Promise<KubeAccess> => {
    const access = await loadKubeAccess({ env: {}, home: join(dir, 'nohome'), serviceAccountDir: join(dir, 'nosa'), ...options });
    opened.push(access);
    return access;
  };
  const write = async (name: string, content: Json | string): Promise<string> => {
    const file = join(dir, name);
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kube-access-'));
  });
  after(async () => {
    await Promise.all(opened.map((a) => a.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a YAML kubeconfig: server, token, CA path relative to the file', async () => {
    await mkdir(join(dir, 'yaml'), { recursive: true });
    await writeFile(join(dir, 'yaml', 'ca.crt'), 'ca bytes');
    const file = await write(
      'yaml/config',
      ['apiVersion: v1', 'kind: Config', 'current-context: ctx', 'clusters:', '- name: c', '  cluster:', '    server: https://api.example:6443/', '    certificate-authority: ca.crt',
        'users:', '- name: u', '  user:', '    token: abc', 'contexts:', '- name: ctx', '  context: {cluster: c, user: u}', ''].join('\n'),
    );
    const access = await load({ kubeconfig: file });
    assert.equal(access.server, 'https://api.example:6443');
    assert.equal((await headersOf(access)).authorization, 'Bearer abc');
  });

  it('prefers --kubeconfig, then KUBECONFIG (one file), then ~/.kube/config', async () => {
    const flag = await write('flag', kubeconfig({ token: 'flag' }));
    const envFile = await write('env', kubeconfig({ token: 'env' }));
    await mkdir(join(dir, 'home', '.kube'), { recursive: true });
    await write('home/.kube/config', kubeconfig({ token: 'home' }));
    const home = join(dir, 'home');
    assert.equal((await headersOf(await load({ kubeconfig: flag, env: { KUBECONFIG: envFile }, home }))).authorization, 'Bearer flag');
    assert.equal((await headersOf(await load({ env: { KUBECONFIG: envFile }, home }))).authorization, 'Bearer env');
    assert.equal((await headersOf(await load({ home }))).authorization, 'Bearer home');
  });

  it('in a cluster: the Service address (IPv6 in brackets), the mounted CA, the token read again as it rotates', async () => {
    const sa = join(dir, 'sa');
    await mkdir(sa, { recursive: true });
    await writeFile(join(sa, 'ca.crt'), 'ca bytes');
    await writeFile(join(sa, 'token'), 'first\n');
    let now = 1_000_000;
    const access = await load({ serviceAccountDir: sa, env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, now: () => now });
    assert.equal(access.server, 'https://[fd00::1]:443');
    assert.equal((await headersOf(access)).authorization, 'Bearer first');
    await writeFile(join(sa, 'token'), 'second\n');
    now += TOKEN_FILE_PERIOD_MS - 1;
    assert.equal((await headersOf(access)).authorization, 'Bearer first', 'read at most once a minute');
    now += 1;
    assert.equal((await headersOf(access)).authorization, 'Bearer second');
    const v4 = await load({ serviceAccountDir: sa, env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' } });
    assert.equal(v4.server, 'https://10.96.0.1:443');
    await assert.rejects(load({ serviceAccountDir: sa, env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' } }), /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT/);
  });

  it('basic auth and a token file from the kubeconfig', async () => {
    await writeFile(join(dir, 'token-file'), 'from-file\n');
    assert.equal((await headersOf(await load({ kubeconfig: await write('tf', kubeconfig({ tokenFile: 'token-file' })) }))).authorization, 'Bearer from-file');
    const basic = await headersOf(await load({ kubeconfig: await write('basic', kubeconfig({ username: 'ann', password: 'secret' })) }));
    assert.equal(basic.authorization, `Basic ${Buffer.from('ann:secret').toString('base64')}`);
  });

  it('keeps one pool while the TLS material stays, and a new one (the old closed) when the client certificate changes', async () => {
    await writeFile(join(dir, 'client.crt'), 'certificate one');
    await writeFile(join(dir, 'client.key'), 'key one');
    const access = await load({
      kubeconfig: await write('certs', kubeconfig({ 'client-certificate': 'client.crt', 'client-key': 'client.key' }, { server: 'https://127.0.0.1:6443', 'certificate-authority-data': Buffer.from('ca').toString('base64') })),
    });
    const first = (await access.connection(`${access.server}/api`, 'GET')).transport as unknown as { closed: boolean };
    assert.equal((await access.connection(`${access.server}/api`, 'GET')).transport, first);
    await writeFile(join(dir, 'client.crt'), 'certificate two');
    const second = (await access.connection(`${access.server}/api`, 'GET')).transport;
    assert.notEqual(second, first);
    assert.equal(access.poolCount(), 1);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(first.closed, true, 'the pool of the old certificate is closed');
  });

  it('says which file and what is wrong with a bad kubeconfig', async () => {
    const cases: Array<[string, Json | string, RegExp]> = [
      ['no-context', { ...kubeconfig({ token: 'x' }), 'current-context': '' }, /no current-context/],
      ['missing-cluster', { ...kubeconfig({ token: 'x' }), clusters: [] }, /clusters has no entry named "c"/],
      ['no-server', kubeconfig({ token: 'x' }, {}), /cluster "c" has no server/],
      ['bad-server', kubeconfig({ token: 'x' }, { server: 'not a url' }), /server "not a url" is not a URL/],
      ['cert-no-key', kubeconfig({ 'client-certificate-data': 'Y2VydA==' }), /client certificate needs its key/],
      ['not-yaml', 'clusters: [unclosed', /not YAML or JSON/],
      ['scalar', '42', /not a kubeconfig/],
    ];
    for (const [name, content, message] of cases) {
      const file = await write(name, content);
      await assert.rejects(load({ kubeconfig: file }), (err: unknown) => {
        assert.ok(err instanceof KubeconfigError, `${name}: ${String(err)}`);
        assert.match(err.message, new RegExp(`kubeconfig ${file}: `));
        assert.match(err.message, message);
        return true;
      });
    }
    await assert.rejects(load({ kubeconfig: join(dir, 'absent') }), /kubeconfig .*absent: cannot read it/);
    const access = await load({ kubeconfig: await write('ca-missing', kubeconfig({ token: 'x' }, { server: 'https://127.0.0.1:6443', 'certificate-authority': 'nope.crt' })) });
    await assert.rejects(access.connection(`${access.server}/api`, 'GET'), /cannot read the certificate authority/);
  });

  it('hands an exec user to client-node, saying so once at info, and uses the credential it returns', async () => {
    const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'from-exec' } });
    const file = await write(
      'exec',
      kubeconfig({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'sh', args: ['-c', `echo '${credential}'`], interactiveMode: 'Never' } }),
    );
    const logged: Array<{ fields: object; message: string }> = [];
    const access = await load({ kubeconfig: file, logger: { info: (fields, message) => logged.push({ fields, message }) } });
    assert.equal(logged.length, 1);
    assert.match(logged[0]?.message ?? '', /@kubernetes\/client-node/);
    assert.match(JSON.stringify(logged[0]?.fields), /uses exec/);
    const headers = await headersOf(access);
    assert.equal(headers.Authorization ?? headers.authorization, 'Bearer from-exec');
    assert.equal(access.server, 'https://127.0.0.1:6443');
  });
});
