# Common setup for the installer's bats tests: load bats-support/assert from
# node_modules, and give every test its own HOME.
bats_require_minimum_version 1.5.0
ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
export ROOT
load "$ROOT/node_modules/bats-support/load.bash"
load "$ROOT/node_modules/bats-assert/load.bash"

common_setup() {
  export HOME="$BATS_TEST_TMPDIR/home"
  export XDG_CONFIG_HOME="$HOME/.config"
  mkdir -p "$HOME"
  FAKEBIN="$BATS_TEST_TMPDIR/bin"
  mkdir -p "$FAKEBIN"
}

# fake_cmd NAME SCRIPT: put an executable NAME running SCRIPT first on PATH.
fake_cmd() {
  printf '#!/bin/sh\n%s\n' "$2" >"$FAKEBIN/$1"
  chmod +x "$FAKEBIN/$1"
}

# in_installer COMMANDS...: run shell code with install.sh's functions defined.
in_installer() {
  run --separate-stderr bash -c "MOSAIC_INSTALL_SOURCED=1 source '$ROOT/install.sh'; set_paths; $*"
}
