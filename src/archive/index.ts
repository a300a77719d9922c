/**
 * The tar layer of the image store: a streaming reader and writer that keep the raw header
 * bytes, our tar-split (rebuild a layer's exact tar from its files), and decompression.
 */
export { readTar, TarReader, type TarEntry, type ReadTarOptions } from './reader.js';
export { TarWriter, tarStream, encodeHeader, type EntryInput } from './writer.js';
export { SplitRecorder, assemble, layerPath, splitSize } from './split.js';
export { detectCompression, decompress, decompressStream, type Compression } from './compression.js';
export type { TarHeader, TarType } from './header.js';
