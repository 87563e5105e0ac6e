// Builds graphiql/dist/: the few static files the ispcore server serves at
// GET /graphiql (index.html) and GET /graphiql/static/<file> (everything else).
//
//   cd graphiql && npm ci && npm run build
//
// dist/ is committed, so the server needs neither node nor network at runtime.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const nm = join(here, 'node_modules');
const dist = join(here, 'dist');

const pkgVersion = (name) =>
  JSON.parse(readFileSync(join(nm, name, 'package.json'), 'utf8')).version;

// [source, destination name in dist/]
const files = [
  [join(nm, 'react/umd/react.production.min.js'), 'react.production.min.js'],
  [join(nm, 'react-dom/umd/react-dom.production.min.js'), 'react-dom.production.min.js'],
  [join(nm, 'graphiql/graphiql.min.js'), 'graphiql.min.js'],
  [join(nm, 'graphiql/graphiql.min.css'), 'graphiql.min.css'],
  [join(here, 'src/index.html'), 'index.html'],
  [join(here, 'src/init.js'), 'init.js'],
];

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

for (const [src, name] of files) {
  const out = join(dist, name);
  if (name.endsWith('.js') || name.endsWith('.css')) {
    // Source maps are not shipped: drop the trailing sourceMappingURL comment so
    // browsers' devtools don't request a missing .map file.
    let text = readFileSync(src, 'utf8');
    text = text.replace(/\n?\/[/*][#@] sourceMappingURL=[^\n]*\s*$/, '\n');
    writeFileSync(out, text);
  } else {
    copyFileSync(src, out);
  }
}

// MIT licenses of the bundled third-party code.
const licenses = ['graphiql', 'react', 'react-dom']
  .map((name) => {
    const text = readFileSync(join(nm, name, 'LICENSE'), 'utf8').trim();
    return `==== ${name}@${pkgVersion(name)} ====\n\n${text}\n`;
  })
  .join('\n');
writeFileSync(
  join(dist, 'THIRD_PARTY_LICENSES.txt'),
  'graphiql.min.js also bundles @graphiql/react, @graphiql/toolkit, graphql, graphql-ws,\n' +
    'codemirror and other MIT-licensed packages; see node_modules/*/LICENSE after npm ci.\n\n' +
    licenses,
);

// Guard: nothing in dist/ may point at another host at runtime.
for (const [, name] of files) {
  const text = readFileSync(join(dist, name), 'utf8');
  for (const m of text.matchAll(/<(?:script|link)[^>]+(?:src|href)="([^"]+)"/g)) {
    if (!m[1].startsWith('/graphiql/static/') && !m[1].startsWith('data:')) {
      throw new Error(`${name}: non same-origin asset ${m[1]}`);
    }
  }
}

console.log(
  `built ${dist}: graphiql@${pkgVersion('graphiql')} react@${pkgVersion('react')} ` +
    `react-dom@${pkgVersion('react-dom')}`,
);
