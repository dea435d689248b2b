/** Manifest media types and the little we read from manifests: children of an index, blobs of an image. */
import { WharfError } from '../core/errors';

export const MediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

/** What we ask for: every modern form, so the registry never converts (conversion changes the digest). */
export const MANIFEST_ACCEPT = [MediaTypes.ociIndex, MediaTypes.ociManifest, MediaTypes.dockerList, MediaTypes.dockerManifest].join(', ');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageManifestJson {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface IndexJson {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

export function isIndexType(mediaType: string): boolean {
  return mediaType === MediaTypes.ociIndex || mediaType === MediaTypes.dockerList;
}

export function platformString(platform: Platform | undefined): string {
  if (!platform) return 'unknown';
  return `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`;
}

/** "linux/arm64/v8" matches a descriptor for linux/arm64 variant v8; "linux/arm64" matches any variant. */
export function platformMatches(platform: Platform | undefined, wanted: string): boolean {
  if (!platform) return false;
  const [os, architecture, variant] = wanted.split('/');
  return platform.os === os && platform.architecture === architecture && (!variant || platform.variant === variant);
}

export function parsePlatform(text: string): string {
  if (!/^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/.test(text)) {
    throw new WharfError({ code: 'bad-input', object: `platform "${text}"`, cause: 'not os/arch[/variant]', remedy: 'Use a form like linux/amd64 or linux/arm64/v8' });
  }
  return text;
}

export function parseJson<T>(bytes: Buffer, object: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch {
    throw new WharfError({ code: 'failed', object, cause: 'the manifest is not JSON', remedy: 'Check what the registry stores under this reference' });
  }
}

/** The media type from the header, else from the document itself. */
export function effectiveMediaType(header: string | null, bytes: Buffer): string {
  const fromHeader = header?.split(';')[0].trim();
  if (fromHeader && fromHeader !== 'application/json' && fromHeader !== 'text/plain') return fromHeader;
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: string; manifests?: unknown };
    if (parsed.mediaType) return parsed.mediaType;
    return parsed.manifests ? MediaTypes.ociIndex : MediaTypes.ociManifest;
  } catch {
    return fromHeader ?? 'application/octet-stream';
  }
}
