import http from 'node:http';
import { pipeline } from 'node:stream/promises';
import { buildBusybox, dockerArchive } from '../image/builtin/busybox.js';

/**
 * Loads the built-in busybox:latest into a running berthd unless it already has one:
 *   node dist/src/cmd/load-builtin.js /run/berth/berth.sock
 * Waits up to 60 s for the socket to answer, so it can be started alongside the daemon.
 */
const socketPath = process.argv[2] ?? '/run/berth/berth.sock';

function request(method: string, path: string): Promise<{ status: number; req?: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

const deadline = Date.now() + 60_000;
for (;;) {
  try {
    if ((await request('GET', '/_ping')).status === 200) break;
  } catch { /* not up yet */ }
  if (Date.now() > deadline) {
    process.stderr.write(`berthd did not answer on ${socketPath}\n`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 100));
}
if ((await request('GET', '/images/busybox:latest/json')).status === 200) process.exit(0);
const img = await buildBusybox();
const status = await new Promise<number>((resolve, reject) => {
  const req = http.request({ socketPath, method: 'POST', path: '/images/load?quiet=1', headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode ?? 0));
  });
  req.on('error', reject);
  pipeline(dockerArchive(img, ['busybox:latest']), req).catch(reject);
});
if (status !== 200) {
  process.stderr.write(`loading the built-in busybox image failed: HTTP ${status}\n`);
  process.exit(1);
}
process.stderr.write('loaded the built-in busybox:latest\n');
