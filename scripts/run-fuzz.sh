#!/usr/bin/env bash
# Fuzzes the qcow2 reader: builds fuzz/qcow2_fuzz with clang, libFuzzer, ASan and UBSan in
# build-fuzz, makes a seed corpus of small qemu-img images, and runs the fuzzer.
#   scripts/run-fuzz.sh [SECONDS]   (default 60)
# Exits non-zero when the fuzzer finds a crash; the input is left in build-fuzz/fuzz/.
set -euo pipefail

seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVDISK_FUZZ=ON \
  -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
  >/dev/null
ninja -C "$build" qcow2_fuzz

seeds=$build/fuzz/qcow2_seeds
corpus=$build/fuzz/qcow2_corpus
mkdir -p "$seeds" "$corpus"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A small raw disk with data, a compressible stretch, zeros and holes.
raw=$work/seed.raw
head -c 40000 /dev/urandom >"$raw"
head -c 60000 < <(yes qcow2-seed-data) >>"$raw"
truncate -s 256K "$raw"
make_seed() {  # name, qemu-img convert options
  qemu-img convert -f raw -O qcow2 $2 "$raw" "$seeds/$1.qcow2" >/dev/null
}
make_seed v3-512 "-o cluster_size=512"
make_seed v3-4k "-o cluster_size=4096"
make_seed v2-1k "-o compat=0.10,cluster_size=1024"
make_seed deflate-1k "-c -o cluster_size=1024"
make_seed zstd-2k "-c -o cluster_size=2048,compression_type=zstd"
make_seed extl2-16k "-o cluster_size=16384,extended_l2=on"
qemu-img create -f qcow2 -o cluster_size=16384,extended_l2=on "$seeds/subclusters.qcow2" 256K >/dev/null
qemu-io -c 'write -P 0x11 2048 1024' -c 'write -z 16384 4096' -c 'write -c -P 7 32768 16384' \
  "$seeds/subclusters.qcow2" >/dev/null
make_seed zero-4k "-o cluster_size=4096"
qemu-io -c 'write -z 0 16K' -c 'write -z -u 64K 8K' "$seeds/zero-4k.qcow2" >/dev/null
make_seed grown-4k "-o cluster_size=4096"
qemu-img resize "$seeds/grown-4k.qcow2" 32M >/dev/null  # moves the L1 table behind the data

cd "$build/fuzz"
TMPDIR=$work "$build/fuzz/qcow2_fuzz" -max_total_time="$seconds" -max_len=1048576 \
  -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 -artifact_prefix="$build/fuzz/" \
  "$corpus" "$seeds"
