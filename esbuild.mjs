// Bundles the extension and the CLI for Node. `vscode` stays external (the host provides it).
// Flags: --production (minify, no inline source content), --watch.
import * as esbuild from 'esbuild';
import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const root = path.dirname(new URL(import.meta.url).pathname);
const dist = path.join(root, 'dist');

/**
 * ssh2 tries an optional native crypto addon and cpu-features inside try/catch and falls back to
 * pure JS. We leave both out of the bundle so the .vsix carries no native code.
 */
const leaveOutNativeAddons = {
  name: 'leave-out-native-addons',
  setup(build) {
    build.onResolve({ filter: /(\.node$)|(^cpu-features$)/ }, (args) => ({ path: args.path, namespace: 'no-native' }));
    build.onLoad({ filter: /.*/, namespace: 'no-native' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`native addon ${args.path} is not bundled`)});`,
      loader: 'js',
    }));
  },
};

/**
 * etcd3 loads `${__dirname}/../proto/rpc.proto` when first required. Inside a bundle __dirname is
 * dist/, so point it at dist/proto/ (copied below) instead of a folder beside dist/.
 */
const etcdProtoPath = {
  name: 'etcd3-proto-path',
  setup(build) {
    build.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const needle = '`${__dirname}/../proto/rpc.proto`';
      if (!source.includes(needle)) {
        throw new Error(`etcd3 changed how it finds rpc.proto (${args.path}); update esbuild.mjs`);
      }
      return { contents: source.replace(needle, "require('path').join(__dirname, 'proto', 'rpc.proto')"), loader: 'js' };
    });
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode'],
  sourcemap: production ? 'linked' : 'inline',
  sourcesContent: !production,
  minify: production,
  logLevel: 'warning',
  plugins: [leaveOutNativeAddons, etcdProtoPath],
};

async function copyAssets() {
  await mkdir(path.join(dist, 'proto'), { recursive: true });
  await cp(path.join(root, 'node_modules', 'etcd3', 'proto'), path.join(dist, 'proto'), { recursive: true });
}

const builds = [
  { ...common, entryPoints: { extension: 'src/extension.ts' }, outdir: dist },
  { ...common, entryPoints: { cli: 'src/cli/main.ts' }, outdir: dist, banner: { js: '#!/usr/bin/env node' } },
];

if (watch) {
  await copyAssets();
  for (const options of builds) {
    const context = await esbuild.context(options);
    await context.watch();
  }
  console.log('esbuild: watching');
} else {
  await rm(dist, { recursive: true, force: true });
  await Promise.all(builds.map((options) => esbuild.build(options)));
  await copyAssets();
}
