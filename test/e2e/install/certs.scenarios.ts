import { installSuite } from '../../support/install-suite.ts';

installSuite({ title: 'certs/generate.sh, then kubectl apply -k certs/out/', path: 'certs', namespace: 'mcp-admission' });
