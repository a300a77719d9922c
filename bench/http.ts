import http from 'node:http';

/**
 * One HTTP request over a unix socket on a fresh connection (no keep-alive), as the docker
 * CLI makes them. Resolves with the status and body; rejects on connection errors and
 * after `timeoutMs`.
 */
export function request(socketPath: string, method: string, path: string, timeoutMs = 10_000):
  Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
    req.end();
  });
}
