// Boot-configuration tests (issue 3): static checks of every rendered boot config, and behavioural runs in real
// Debian roots (chroot amd64, systemd-nspawn, chroot arm64 through qemu-user-static). Needs root and the tools
// from `bash scripts/setup-test-tools.sh`. Caches live outside the repo (~/.cache/arm64-builder).
/** @type {import('jest').Config} */
module.exports = {
  rootDir: __dirname,
  testMatch: ['<rootDir>/__tests__/boot/**/*.test.ts'],
  transform: { '^.+\\.ts$': '@swc/jest' },
  testEnvironment: 'node',
  // The chroot, nspawn and arm64 tiers are minutes each on a cold cache; two workers run them side by side.
  testTimeout: 20 * 60 * 1000,
  maxWorkers: 2,
  verbose: true,
};
