import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkEnv } from './links.js';

test('linkEnv: ports (default, each, runs), name and the child environment without HOME and PATH', () => {
  const env = linkEnv('/web/db-main', '172.17.0.5', ['5432/tcp', '53/udp', '8000/tcp', '8001/tcp'], ['PATH=/bin', 'PGUSER=admin', 'HOME=/root', 'X']);
  assert.deepEqual(env, [
    'DB_MAIN_PORT=udp://172.17.0.5:53',
    'DB_MAIN_PORT_8000_TCP_START=tcp://172.17.0.5:8000', 'DB_MAIN_PORT_8000_TCP_ADDR=172.17.0.5',
    'DB_MAIN_PORT_8000_TCP_PORT_START=8000', 'DB_MAIN_PORT_8000_TCP_PORT_END=8001',
    'DB_MAIN_PORT_53_UDP=udp://172.17.0.5:53', 'DB_MAIN_PORT_53_UDP_ADDR=172.17.0.5', 'DB_MAIN_PORT_53_UDP_PORT=53', 'DB_MAIN_PORT_53_UDP_PROTO=udp',
    'DB_MAIN_PORT_5432_TCP=tcp://172.17.0.5:5432', 'DB_MAIN_PORT_5432_TCP_ADDR=172.17.0.5', 'DB_MAIN_PORT_5432_TCP_PORT=5432', 'DB_MAIN_PORT_5432_TCP_PROTO=tcp',
    'DB_MAIN_PORT_8000_TCP=tcp://172.17.0.5:8000', 'DB_MAIN_PORT_8000_TCP_ADDR=172.17.0.5', 'DB_MAIN_PORT_8000_TCP_PORT=8000', 'DB_MAIN_PORT_8000_TCP_PROTO=tcp',
    'DB_MAIN_PORT_8001_TCP=tcp://172.17.0.5:8001', 'DB_MAIN_PORT_8001_TCP_ADDR=172.17.0.5', 'DB_MAIN_PORT_8001_TCP_PORT=8001', 'DB_MAIN_PORT_8001_TCP_PROTO=tcp',
    'DB_MAIN_NAME=/web/db-main', 'DB_MAIN_ENV_PGUSER=admin',
  ]);
});
