#!/usr/bin/env node
// Run after changing dependencies: `node scripts/fix-lockfile.cjs`.
// Adds lockfile entries for optional platform packages the registry mirror does not serve, so
// `npm ci` sees the lock in sync; npm skips optional packages it cannot fetch or that do not match.
const fs = require('fs');
const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8'));
let added = 0;
for (const [path, pkg] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const base = path === '' ? '' : path + '/';
    const key = `${base}node_modules/${name}`;
    const top = `node_modules/${name}`;
    if (lock.packages[key] || lock.packages[top]) continue;
    lock.packages[top] = { version, optional: true };
    added++;
  }
}
fs.writeFileSync('package-lock.json', JSON.stringify(lock, null, 2) + '\n');
console.log('added', added);
