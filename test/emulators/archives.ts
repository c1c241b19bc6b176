/**
 * The two archive formats package clients download: tar.gz (npm tarballs, Cargo .crate files) and zip
 * (Python wheels, NuGet .nupkg, Maven jars). Written here so the feed emulator can serve real packages
 * that real clients unpack and check (checksums, integrity), with nothing fetched from anywhere.
 * Formats: POSIX ustar (pax-free: names < 100 bytes) and PKWARE APPNOTE zip with deflate.
 */
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';

export interface ArchiveFile {
  readonly name: string;
  readonly content: string | Buffer;
}

const bytes = (content: string | Buffer): Buffer => (typeof content === 'string' ? Buffer.from(content) : content);

/** A ustar header field: NUL-padded text, or an octal number (size − 1 digits and a NUL). */
function field(header: Buffer, offset: number, size: number, value: string | number): void {
  const text = typeof value === 'number' ? value.toString(8).padStart(size - 1, '0') : value;
  header.write(text, offset, size, 'utf8');
}

/** A gzip-compressed tar of regular files (mode 0644, mtime 0, so the same files give the same bytes). */
export function tarGz(files: readonly ArchiveFile[]): Buffer {
  const blocks: Buffer[] = [];
  for (const file of files) {
    if (Buffer.byteLength(file.name) >= 100) throw new Error(`tar name too long for ustar: ${file.name}`);
    const data = bytes(file.content);
    const header = Buffer.alloc(512);
    field(header, 0, 100, file.name);
    field(header, 100, 8, 0o644);
    field(header, 108, 8, 0);
    field(header, 116, 8, 0);
    field(header, 124, 12, data.length);
    field(header, 136, 12, 0);
    header.fill(' ', 148, 156);
    header.write('0', 156);
    header.write('ustar\u000000', 257, 'binary');
    let sum = 0;
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'binary');
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** A zip of the files, each deflated; fixed DOS timestamp (1980-01-01). */
export function zip(files: readonly ArchiveFile[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name);
    const data = bytes(file.content);
    const packed = deflateRawSync(data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(0x0800, 8);
    entry.writeUInt16LE(8, 10);
    entry.writeUInt16LE(0, 12);
    entry.writeUInt16LE(0x21, 14);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(packed.length, 20);
    entry.writeUInt32LE(data.length, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    central.push(entry, name);
    offset += local.length + name.length + packed.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
