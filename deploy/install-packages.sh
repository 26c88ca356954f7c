#!/usr/bin/env bash
# The Debian packages the topology needs (scripts/cluster.sh), installed when missing:
# nginx (balancer), PgBouncer, Ceph (monitor, OSD, RADOS Gateway: the S3 object store).
# PostgreSQL and Redis come from scripts/services.sh's requirements. Never fails the caller:
# without the packages the cluster test skips and says why.
set -uo pipefail
need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
command -v pgbouncer >/dev/null 2>&1 || need+=(pgbouncer)
command -v radosgw >/dev/null 2>&1 || need+=(radosgw)
command -v ceph-mon >/dev/null 2>&1 || need+=(ceph-mon)
command -v ceph-osd >/dev/null 2>&1 || need+=(ceph-osd)
[[ -x $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/initdb ]] || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[[ ${#need[@]} -eq 0 ]] && exit 0
echo "[cluster] installing Debian packages: ${need[*]}"
# No service starts at install time (no nginx on :80, no system PgBouncer): scripts/cluster.sh
# starts its own, with its own configuration and ports.
policy=/usr/sbin/policy-rc.d
had_policy=0
[[ -e $policy ]] && had_policy=1
if [[ $had_policy == 0 ]]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; fi
{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } ||
  echo "[cluster] could not install ${need[*]}: tests/cluster will be skipped"
[[ $had_policy == 1 ]] || rm -f "$policy"
exit 0
