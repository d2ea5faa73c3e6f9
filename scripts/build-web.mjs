#!/usr/bin/env node
/**
 * Builds the dashboard (web/) into dist/web/: web/src/main.tsx bundled by esbuild into
 * assets/app.js (+ assets/app.css from its CSS imports), minified, es2020, and web/index.html copied
 * beside it. Fixed file names; index.html refers to them with relative URLs so the dashboard can be
 * served under any path. Exits non-zero on any build error.
 *
 *   node scripts/build-web.mjs            build once
 *   node scripts/build-web.mjs --watch    rebuild on change (development)
 */
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'web');
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const options = {
  absWorkingDir: root,
  entryPoints: { app: join(root, 'web', 'src', 'main.tsx') },
  outdir: join(outDir, 'assets'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  minify: !watch,
  sourcemap: watch ? 'inline' : false,
  legalComments: 'none',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  // MQTT.js: its package "browser" + "import" condition is dist/mqtt.esm.js, a self-contained
  // browser build (its own Buffer/stream/events polyfills), so nothing Node-only is pulled in.
  conditions: ['browser', 'import'],
  mainFields: ['browser', 'module', 'main'],
  define: { 'process.env.NODE_ENV': '"production"' },
  loader: { '.css': 'css' },
  logLevel: 'warning',
  metafile: true,
};

async function copyStatic() {
  await mkdir(outDir, { recursive: true });
  await copyFile(join(root, 'web', 'index.html'), join(outDir, 'index.html'));
}

async function main() {
  await rm(outDir, { recursive: true, force: true });
  await copyStatic();
  if (watch) {
    const ctx = await esbuild.context({
      ...options,
      plugins: [
        {
          name: 'copy-static',
          setup(build) {
            build.onEnd(async (result) => {
              await copyStatic();
              console.log(`[build-web] rebuilt (${result.errors.length} errors)`);
            });
          },
        },
      ],
    });
    await ctx.watch();
    console.log('[build-web] watching web/ ...');
    return;
  }
  await esbuild.build(options);
  for (const name of ['assets/app.js', 'assets/app.css', 'index.html']) {
    const file = join(outDir, name);
    const { size } = await stat(file);
    console.log(`${relative(root, file).padEnd(28)} ${(size / 1024).toFixed(1).padStart(7)} KiB`);
  }
}

main().catch((error) => {
  // esbuild has already printed its diagnostics; say which step failed and fail the process.
  console.error(`build-web failed: ${error?.message ?? error}`);
  process.exit(1);
});
