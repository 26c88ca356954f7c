#!/usr/bin/env bash
# A one-node Ceph cluster (one monitor, one BlueStore OSD on a file) with the RADOS Gateway, the
# S3-compatible object store of Ceph, all from Debian's packages. Production runs the same
# daemons on several hosts (3 monitors, many OSDs, RGWs behind the balancer); only the sizes
# and the replication factor (1 here) differ.
#   deploy/ceph-rgw.sh start DIR PORT ACCESS_KEY SECRET_KEY   (idempotent; the first start makes it)
#   deploy/ceph-rgw.sh stop DIR
set -euo pipefail
cmd=$1 dir=$2
conf=$dir/ceph.conf
CEPH=(ceph -c "$conf" --connect-timeout 10)

stop() {
  for name in client osd mon; do  # pid files are named by daemon type (radosgw: client)
    if [[ -f $dir/run/$name.pid ]]; then
      pid=$(cat "$dir/run/$name.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/run/$name.pid"
    fi
  done
}

if [[ $cmd == stop ]]; then stop; exit 0; fi

port=$3 access=$4 secret=$5
mkdir -p "$dir/run" "$dir/log"
if [[ ! -f $conf ]]; then
  fsid=$(uuidgen)
  cat > "$conf" <<CONF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:${CEPH_MON_PORT:-6799}]
public network = 127.0.0.0/8
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $dir/\$name.keyring
run dir = $dir/run
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
pid file = $dir/run/\$type.pid
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
auth allow insecure global id reclaim = false
mon max pg per osd = 1000
osd objectstore = bluestore
bluestore block create = true
bluestore block size = 4294967296
bluestore fsck on mkfs = false
osd memory target = 805306368
bluestore cache autotune = false
bluestore cache size = 134217728
ms bind ipv6 = false
[mon.a]
mon data = $dir/mon.a
[osd.0]
osd data = $dir/osd.0
bluestore block path = $dir/osd.0.block
osd max object size = 134217728
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw data = $dir/rgw.a
rgw dns name = 127.0.0.1
rgw enable usage log = false
rgw thread pool size = 64
CONF
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:${CEPH_MON_PORT:-6799}]" "$dir/monmap" >/dev/null
  ceph-authtool --create-keyring "$dir/mon.a.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$dir/client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$dir/mon.a.keyring" --import-keyring "$dir/client.admin.keyring" >/dev/null
  ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/mon.a.keyring"
fi
ceph-mon -c "$conf" -i a
for _ in $(seq 60); do "${CEPH[@]}" mon stat >/dev/null 2>&1 && break; sleep 0.5; done
if [[ ! -d $dir/osd.0 ]]; then
  mkdir -p "$dir/osd.0"
  uuid=$(uuidgen)
  id=$("${CEPH[@]}" osd new "$uuid")
  ceph-authtool --create-keyring "$dir/osd.$id.keyring" --gen-key -n "osd.$id" >/dev/null
  "${CEPH[@]}" auth add "osd.$id" osd 'allow *' mon 'allow profile osd' -i "$dir/osd.$id.keyring" >/dev/null 2>&1
  ceph-osd -c "$conf" -i "$id" --mkfs --osd-uuid "$uuid" >/dev/null 2>&1
fi
ceph-osd -c "$conf" -i 0
for _ in $(seq 120); do "${CEPH[@]}" osd stat 2>/dev/null | grep -q "1 up" && break; sleep 0.5; done
mkdir -p "$dir/rgw.a"
[[ -f $dir/client.rgw.a.keyring ]] ||
  "${CEPH[@]}" auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' -o "$dir/client.rgw.a.keyring"
radosgw -c "$conf" -n client.rgw.a
for _ in $(seq 240); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.5; done
if ! radosgw-admin -c "$conf" user info --uid=sora >/dev/null 2>&1; then
  radosgw-admin -c "$conf" user create --uid=sora --display-name="sora_social" \
    --access-key="$access" --secret-key="$secret" >/dev/null
fi
