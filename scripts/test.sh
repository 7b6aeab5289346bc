#!/usr/bin/env bash
# The one test command (`npm test`; README; .ci/run): installs the Debian tools the checks need when they are
# missing, type-checks, runs the unit suite, then the boot tier (rendered boot config checked by real tools and
# run in real Debian roots). Ends with one line "N passed, N failed" summing every tier.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-true}" CHECKPOINT_DISABLE=1
# The image points TF_CLI_CONFIG_FILE at a file that does not exist; terraform then warns on every call.
if [[ -n "${TF_CLI_CONFIG_FILE:-}" && ! -e "$TF_CLI_CONFIG_FILE" ]]; then
  export TF_CLI_CONFIG_FILE=/dev/null
fi

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
tier() { printf '\n== %s\n' "$1"; }
elapsed() { local start=$1; echo "$(( $(date +%s%N) / 1000000 - start )) ms"; }
now() { echo $(( $(date +%s%N) / 1000000 )); }

t=$(now); tier "setup: Debian test tools"
bash scripts/setup-test-tools.sh
echo "setup: $(elapsed "$t")"

t=$(now); tier "type check (tsc --noEmit)"
npx --no-install tsc --noEmit
echo "typecheck: $(elapsed "$t")"

status=0
t=$(now); tier "unit suite (jest)"
npx --no-install jest --json --outputFile="$results/unit.json" || status=1
echo "unit: $(elapsed "$t")"

t=$(now); tier "integration (cdktf synth --hcl parsed by terraform fmt)"
npx --no-install jest -c jest.integration.config.js --json --outputFile="$results/integration.json" || status=1
echo "integration: $(elapsed "$t")"

t=$(now); tier "boot tier (jest.boot.config.js: shellcheck, sshd, systemd, cloud-init, chroot, nspawn, arm64)"
npx --no-install jest -c jest.boot.config.js --json --outputFile="$results/boot.json" || status=1
echo "boot: $(elapsed "$t")"

node -e '
  let passed = 0, failed = 0;
  for (const f of process.argv.slice(1)) {
    try { const r = require(f); passed += r.numPassedTests; failed += r.numFailedTests + r.numRuntimeErrorTestSuites; }
    catch { failed += 1; }
  }
  console.log(`\n${passed} passed, ${failed} failed`);
' "$results/unit.json" "$results/integration.json" "$results/boot.json"
exit "$status"
