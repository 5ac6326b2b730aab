// `npm test`: installs what the suites need (project-local, idempotent), then lint, types, and jest.
import { spawnSync } from 'node:child_process';

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) {
    console.error(
      `npm test: ${[command, ...args].join(' ')} failed (exit ${result.status ?? result.signal})`,
    );
    process.exit(result.status ?? 1);
  }
}

run('bash', ['scripts/ensure-test-deps.sh']);
run('npx', ['eslint', '.']);
run('npx', ['prettier', '--check', '.']);
run('npx', ['tsc', '--noEmit']);
run('node', ['scripts/build-cli.mjs', '--quiet']);
run('npx', ['jest', ...process.argv.slice(2)]);
