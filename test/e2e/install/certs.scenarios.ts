import { installSuite } from '../../support/install-suite.ts';

installSuite({ title: 'certs/generate.sh, then kubectl apply -k certs/out/', path: 'certs', namespace: 'mcp-admission' });
installSuite({
  title: 'the same in namespace platform-mcp (NAMESPACE=platform-mcp certs/generate.sh)',
  path: 'certs',
  namespace: 'platform-mcp',
  rewrite: (command) => command.replace(/^certs\/generate\.sh/, 'NAMESPACE=platform-mcp certs/generate.sh'),
});
