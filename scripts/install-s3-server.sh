#!/bin/bash
# Install the reference S3-compatible server for the S3 tests and `make demo-s3`:
# Ceph radosgw (Pacific, from the distribution) with one monitor and one memstore OSD.
# Idempotent: does nothing when the binaries are already present. Needs root (or sudo).
set -euo pipefail
need=(ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool)
missing=0
for b in "${need[@]}"; do command -v "$b" >/dev/null 2>&1 || missing=1; done
if [ "$missing" = 0 ]; then
  echo "ceph radosgw already installed ($(ceph --version 2>/dev/null | awk '{print $3}'))"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-s3-server: need root or sudo to apt-get install ceph" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw ceph-common curl >/dev/null
echo "installed ceph radosgw ($(ceph --version | awk '{print $3}'))"
