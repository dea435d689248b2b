/**
 * A small OCI image pushed straight through the distribution API (no engine): blobs, config and a
 * manifest, under one or more tags. For tests and benchmarks that need registry content fast.
 */
import { Readable } from 'node:stream';
import { RegistryClient, sha256 } from '../../src/engines/registry/client';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** The manifest bytes for these layers, after uploading the layers and config. */
export async function uploadImage(client: RegistryClient, repository: string, layers: Buffer[]): Promise<Buffer> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map(sha256) } }));
  for (const blob of [...layers, config]) await client.uploadBlob(repository, sha256(blob), Readable.from([blob]));
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: layers.map((blob) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(blob), size: blob.length })),
    }),
  );
}

/** Pushes the image under `tag`; returns the manifest digest. */
export async function pushOciImage(registry: string, repository: string, tag: string, layers: Buffer[]): Promise<string> {
  const client = new RegistryClient({ registry });
  const manifest = await uploadImage(client, repository, layers);
  return client.putManifest(repository, tag, manifest, OCI_MANIFEST);
}
