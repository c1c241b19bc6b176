/**
 * Real packages for the feed emulator, built in memory: an npm tarball, a Python wheel, a .nupkg, a Maven
 * pom (+ jar) and a Cargo .crate, each with the metadata its client checks (integrity, RECORD hashes,
 * sha256 in the index). Layouts follow each ecosystem's own specification: npm's package tarball
 * (`package/` prefix), PEP 427 (wheel), the NuGet package format (.nuspec at the root), Maven's repository
 * layout and the Cargo registry index format (doc.rust-lang.org/cargo/reference/registry-index.html).
 */
import { createHash } from 'node:crypto';
import { tarGz, zip, type ArchiveFile } from './archives';

export type Protocol = 'npm' | 'pypi' | 'nuget' | 'maven' | 'cargo';

/** A file a feed serves for a package version (tarball, wheel, .nupkg, .pom/.jar, .crate). */
export interface PackageFile {
  readonly name: string;
  readonly bytes: Buffer;
}

export interface FeedPackage {
  readonly protocol: Protocol;
  /** npm `@scope/name`, Python project name, NuGet id, Maven `groupId:artifactId`, crate name. */
  readonly name: string;
  readonly version: string;
  readonly files: PackageFile[];
  /** npm: package.json; Cargo: the index entry; PyPI: the upload's form fields. */
  readonly metadata: Record<string, unknown>;
}

export const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const sha1Hex = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

export function npmPackage(name: string, version: string, dependencies: Record<string, string> = {}): FeedPackage {
  const manifest = { name, version, main: 'index.js', license: 'MIT', dependencies };
  const tarball = tarGz([
    { name: 'package/package.json', content: `${JSON.stringify(manifest, null, 2)}\n` },
    { name: 'package/index.js', content: `module.exports = () => 'hello from ${name}@${version}';\n` },
  ]);
  const base = name.split('/').pop()!;
  return { protocol: 'npm', name, version, files: [{ name: `${base}-${version}.tgz`, bytes: tarball }], metadata: manifest };
}

/** The dist block of a packument version: sha1 shasum and sha512 integrity of the tarball. */
export function npmDist(file: PackageFile, tarballUrl: string): Record<string, string> {
  return {
    tarball: tarballUrl,
    shasum: sha1Hex(file.bytes),
    integrity: `sha512-${createHash('sha512').update(file.bytes).digest('base64')}`,
  };
}

/** PEP 503 name normalization. */
export const normalizePythonName = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, '-');

/** A pure-Python wheel (PEP 427) with METADATA, WHEEL and a RECORD of sha256 hashes. */
export function pythonWheel(name: string, version: string): FeedPackage {
  const dist = name.replace(/[-.]+/g, '_');
  const module = dist.toLowerCase();
  const info = `${dist}-${version}.dist-info`;
  const files: ArchiveFile[] = [
    { name: `${module}/__init__.py`, content: `def greet():\n    return "hello from ${name} ${version}"\n` },
    { name: `${info}/METADATA`, content: `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\nSummary: ${name} for tests\n` },
    { name: `${info}/WHEEL`, content: 'Wheel-Version: 1.0\nGenerator: feed-emulator\nRoot-Is-Purelib: true\nTag: py3-none-any\n' },
  ];
  const record = files.map((f) => {
    const data = Buffer.from(f.content);
    return `${f.name},sha256=${createHash('sha256').update(data).digest('base64url')},${data.length}`;
  });
  record.push(`${info}/RECORD,,`);
  files.push({ name: `${info}/RECORD`, content: `${record.join('\n')}\n` });
  const filename = `${dist}-${version}-py3-none-any.whl`;
  return { protocol: 'pypi', name, version, files: [{ name: filename, bytes: zip(files) }], metadata: { name, version } };
}

/** A .nupkg: the .nuspec at the root and one library file. */
export function nugetPackage(id: string, version: string): FeedPackage {
  const nuspec = `<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>${id}</id>
    <version>${version}</version>
    <authors>feed-emulator</authors>
    <description>${id} for tests</description>
  </metadata>
</package>
`;
  const nupkg = zip([
    { name: `${id}.nuspec`, content: nuspec },
    { name: 'lib/netstandard2.0/_._', content: '' },
  ]);
  const lower = `${id.toLowerCase()}.${version.toLowerCase()}`;
  return {
    protocol: 'nuget', name: id, version,
    files: [{ name: `${lower}.nupkg`, bytes: nupkg }, { name: `${id.toLowerCase()}.nuspec`, bytes: Buffer.from(nuspec) }],
    metadata: {},
  };
}

/**
 * A Maven artifact: its pom and, for `jar` packaging, a jar. `pomBody` goes inside <project> after the
 * coordinates (dependencies, dependencyManagement…).
 */
export function mavenArtifact(groupId: string, artifactId: string, version: string, packaging: 'jar' | 'pom', pomBody = ''): FeedPackage {
  const pom = `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>${groupId}</groupId>
  <artifactId>${artifactId}</artifactId>
  <version>${version}</version>
  <packaging>${packaging}</packaging>
${pomBody}</project>
`;
  const files: PackageFile[] = [{ name: `${artifactId}-${version}.pom`, bytes: Buffer.from(pom) }];
  if (packaging === 'jar') {
    files.push({
      name: `${artifactId}-${version}.jar`,
      bytes: zip([{ name: 'META-INF/MANIFEST.MF', content: 'Manifest-Version: 1.0\r\nCreated-By: feed-emulator\r\n\r\n' }]),
    });
  }
  return { protocol: 'maven', name: `${groupId}:${artifactId}`, version, files, metadata: { groupId, artifactId, packaging } };
}

/** A .crate (tar.gz of `name-version/`) and its registry index entry (cksum = sha256 of the .crate). */
export function cargoCrate(name: string, version: string): FeedPackage {
  const root = `${name}-${version}`;
  const crate = tarGz([
    { name: `${root}/Cargo.toml`, content: `[package]\nname = "${name}"\nversion = "${version}"\nedition = "2021"\ndescription = "${name} for tests"\nlicense = "MIT"\n\n[lib]\npath = "src/lib.rs"\n` },
    { name: `${root}/src/lib.rs`, content: `pub fn greet() -> &'static str {\n    "hello from ${name} ${version}"\n}\n` },
  ]);
  const entry = { name, vers: version, deps: [], cksum: sha256Hex(crate), features: {}, yanked: false };
  return { protocol: 'cargo', name, version, files: [{ name: `${root}.crate`, bytes: crate }], metadata: entry };
}

/** The sparse index path of a crate: 1/a, 2/ab, 3/a/abc, ab/cd/abcd… (lower case). */
export function cargoIndexPath(name: string): string {
  const n = name.toLowerCase();
  if (n.length <= 2) return `${n.length}/${n}`;
  if (n.length === 3) return `3/${n[0]}/${n}`;
  return `${n.slice(0, 2)}/${n.slice(2, 4)}/${n}`;
}
