#!/usr/bin/env bash
# What the test suite needs on top of scripts/setup.sh: headless Chromium
# for the search page's browser test, PostgreSQL for the job-lease tests, the tansu Kafka-protocol broker (built
# once from crates.io), the noida-db Elasticsearch API emulator (PyPI) and
# schemathesis (PyPI) for the API contract test and ir-measures (PyPI) for
# the retrieval metrics test.
# All cached; cheap when already done.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/env.sh"

bash "$ROOT/scripts/setup.sh"

# Headless Chromium for the search page's browser test (tests/web.rs).
if [[ ! -x /usr/bin/chromium ]]; then
  if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
    echo "setup-test: installing chromium (Debian package, for the browser test)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup-test: /usr/bin/chromium is missing; the browser test needs it (apt-get install chromium)" >&2
    [[ -n "${CI:-}" ]] && exit 1
  fi
fi

# PostgreSQL for the replicas' shared job leases (crates/sluice-coord): the
# tests start their own throwaway cluster, so no service is needed.
if ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
  if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
    echo "setup-test: installing postgresql (Debian package, for the lease tests)"
    mkdir -p /etc/postgresql-common
    # No default cluster or service: the tests make their own.
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "setup-test: PostgreSQL is missing; the lease tests need it (apt-get install postgresql)" >&2
    [[ -n "${CI:-}" ]] && exit 1
  fi
fi

# The Kafka-protocol broker for the transport's integration tests.
bash "$ROOT/scripts/setup-kafka.sh"
# The Elasticsearch API emulator for the sink's round-trip tests.
bash "$ROOT/scripts/setup-stores.sh"
# schemathesis, for the API contract test.
bash "$ROOT/scripts/setup-contract.sh"
# ir-measures, the reference for `sluice eval`'s metrics.
bash "$ROOT/scripts/setup-eval.sh"
