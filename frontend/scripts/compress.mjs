// After `vite build`: a gzip copy beside each script and stylesheet, which the API serves to
// browsers that accept it (most of the dashboard's bytes are ECharts; gzip cuts them ~3x).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const assets = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/assets");
let before = 0;
let after = 0;
for (const name of readdirSync(assets)) {
  if (!/\.(js|css)$/.test(name)) continue;
  const data = readFileSync(path.join(assets, name));
  const gz = gzipSync(data, { level: 9 });
  writeFileSync(path.join(assets, `${name}.gz`), gz);
  before += data.length;
  after += gz.length;
}
console.log(`gzip: ${(before / 1024).toFixed(0)} kB -> ${(after / 1024).toFixed(0)} kB`);
