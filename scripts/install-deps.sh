#!/usr/bin/env bash
# Installs the Debian packages vdisk needs to build, serve and test.
# Idempotent: only missing packages are installed, so repeated runs are fast.
set -euo pipefail

BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config clang-format
  libcpp-httplib-dev libssl-dev zlib1g-dev libbrotli-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libsqlite3-dev
  libgtest-dev libgmock-dev libisal-dev liblzma-dev libzstd-dev libcurl4-openssl-dev
  libyaml-cpp-dev
)
TEST_PACKAGES=(
  python3 python3-pytest python3-yaml curl openssl kubernetes-client
  qemu-utils nginx xz-utils zstd pigz bzip2 e2fsprogs xfsprogs genisoimage clang libclang-rt-dev
)

want=("${BUILD_PACKAGES[@]}")
if [[ "${1:-}" == "--test" ]]; then want+=("${TEST_PACKAGES[@]}"); fi

missing=()
for pkg in "${want[@]}"; do
  # kubectl may be installed outside Debian's packaging (for example at /usr/bin/kubectl).
  if [[ "$pkg" == kubernetes-client ]] && command -v kubectl >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
