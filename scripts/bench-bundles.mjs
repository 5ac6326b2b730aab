// `npm run bench:bundles`: bundles each Lambda handler the way the CDK stack does (NodejsFunction:
// esbuild, minified, node22, CJS, AWS SDK v3 external because the runtime provides it) and prints its
// size and module load time: median of several `require` runs, each in a fresh Node process, next to
// the load time of an empty module measured in the same run (the process start-up baseline).
// Targets: under 1 MB and under 200 ms each.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const SIZE_TARGET = 1024 * 1024;
const LOAD_TARGET_MS = 200;
const handlers = readdirSync('lambda/handlers')
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
const out = mkdtempSync(join(tmpdir(), 'certrotor-bundles-'));

await build({
  entryPoints: Object.fromEntries(handlers.map((h) => [h, `lambda/handlers/${h}.ts`])),
  outdir: out,
  bundle: true,
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  mainFields: ['module', 'main'],
  external: ['@aws-sdk/*'],
  logLevel: 'error',
});
writeFileSync(join(out, 'empty.js'), '');

// The handlers parse their environment at load time, as in Lambda.
const env = {
  ...process.env,
  CERTROTOR_TABLE_NAME: 'bench',
  CERTROTOR_EVENT_BUS_NAME: 'bench',
  AWS_REGION: 'us-east-1',
  POWERTOOLS_TRACE_ENABLED: 'false',
  NODE_PATH: join(process.cwd(), 'node_modules'),
};

function loadMs(file) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const script = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
    const result = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`loading ${file} failed:\n${result.stderr}`);
    times.push(Number(result.stdout));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const baseline = loadMs(join(out, 'empty.js'));
const rows = handlers.map((h) => {
  const file = join(out, `${h}.js`);
  return { handler: h, bytes: statSync(file).size, ms: loadMs(file) };
});
const pad = (s, n) => String(s).padEnd(n);
console.log(
  `Node ${process.version}, ${RUNS} runs each (median), fresh process per run; AWS SDK v3 from node_modules (the runtime provides it in Lambda)`,
);
console.log(
  `${pad('handler', 18)}${pad('size', 12)}${pad('load ms', 10)}${pad('minus baseline', 16)}within target`,
);
console.log(`${pad('(empty module)', 18)}${pad('0 B', 12)}${pad(baseline.toFixed(1), 10)}${pad('-', 16)}`);
let failed = false;
for (const r of rows) {
  const ok = r.bytes < SIZE_TARGET && r.ms < LOAD_TARGET_MS;
  failed ||= !ok;
  console.log(
    `${pad(r.handler, 18)}${pad(`${(r.bytes / 1024).toFixed(0)} KB`, 12)}${pad(r.ms.toFixed(1), 10)}${pad((r.ms - baseline).toFixed(1), 16)}${ok ? 'yes' : 'NO'}`,
  );
}
console.log(`targets: < ${SIZE_TARGET / 1024} KB and < ${LOAD_TARGET_MS} ms per bundle`);
if (failed)
  console.log(
    "some bundles miss a target (load times depend on this machine's load: compare with the baseline)",
  );
