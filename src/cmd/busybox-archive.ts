import { pipeline } from 'node:stream/promises';
import { buildBusybox, dockerArchive } from '../image/builtin/busybox.js';

/**
 * Writes the built-in busybox image as a `docker load` archive to stdout:
 *   node dist/src/cmd/busybox-archive.js [tag...] | docker load
 */
const tags = process.argv.slice(2);
const img = await buildBusybox();
await pipeline(dockerArchive(img, tags.length ? tags : ['busybox:latest']), process.stdout);
