#!/usr/bin/env bats
# shellcheck disable=SC2154,SC2016 # bats sets $stderr; fake commands are single-quoted on purpose
# install.sh: options, prerequisite checks and their messages. The full
# install, re-install and uninstall run for real in tests/e2e/lifecycle.test.ts.

setup() {
  load helper
  common_setup
}

@test "--help documents every option" {
  run -0 --separate-stderr "$ROOT/install.sh" --help
  for opt in --no-demo --no-start --uninstall --purge --help; do
    assert_output --partial -- "$opt"
  done
}

@test "an unknown option is a usage error (exit 2) naming the option" {
  run -2 --separate-stderr "$ROOT/install.sh" --frobnicate
  [[ "$stderr" == *"unknown option '--frobnicate'"* ]]
}

@test "--purge without --uninstall is a usage error" {
  run -2 --separate-stderr "$ROOT/install.sh" --purge
  [[ "$stderr" == *"--purge goes with --uninstall"* ]]
}

@test "a missing tmux is named with how to install it" {
  in_installer "PATH=/nonexistent; check_tmux"
  assert_failure 1
  [[ "$stderr" == *"tmux is required but not found on PATH"*"apt-get install tmux"* ]]
}

@test "an old tmux is refused with its version" {
  fake_cmd tmux 'echo "tmux 2.9a"'
  in_installer "PATH='$FAKEBIN':\$PATH; check_tmux"
  assert_failure 1
  [[ "$stderr" == *"tmux 2.9 is too old (need 3.2 or newer"* ]]
}

@test "tmux 3.3a and next-3.4 pass the version check" {
  fake_cmd tmux 'echo "tmux 3.3a"'
  in_installer "PATH='$FAKEBIN':\$PATH; check_tmux"
  assert_success
  fake_cmd tmux 'echo "tmux next-3.4"'
  in_installer "PATH='$FAKEBIN':\$PATH; check_tmux"
  assert_success
}

@test "an old Node.js is refused with its version" {
  fake_cmd node 'case "$1" in -p) echo 18;; --version) echo v18.19.0;; esac'
  in_installer "PATH='$FAKEBIN':\$PATH; check_node"
  assert_failure 1
  [[ "$stderr" == *"Node.js v18.19.0 is too old (need 20 or newer"* ]]
}

@test "no reachable user manager says how to get one" {
  fake_cmd systemctl 'echo "Failed to connect to bus: No medium found" >&2; exit 1'
  in_installer "PATH='$FAKEBIN':\$PATH; check_user_manager"
  assert_failure 1
  [[ "$stderr" == *"no systemd user manager answers"*"Failed to connect to bus"*"loginctl enable-linger"* ]]
}

@test "version_ge compares dotted versions" {
  in_installer "version_ge 3.3 3.2 && version_ge 3.2 3.2 && ! version_ge 3.1 3.2 && version_ge 3.10 3.9"
  assert_success
}

@test "uninstall keeps links that point elsewhere" {
  mkdir -p "$HOME/.local/bin"
  ln -s /bin/true "$HOME/.local/bin/agent-send"
  fake_cmd systemctl 'exit 0'
  run --separate-stderr env PATH="$FAKEBIN:$PATH" "$ROOT/install.sh" --uninstall
  assert_success
  [ -L "$HOME/.local/bin/agent-send" ]
  [[ "$stderr" == *"kept your config"* ]]
}

@test "uninstall --purge removes our directories, and their parents only once they are empty" {
  mkdir -p "$XDG_CONFIG_HOME/mosaic/fleet/agents" "$XDG_CONFIG_HOME/mosaic/tools/fleet/releases" "$HOME/.local/state/mosaic/fleet/logs"
  touch "$XDG_CONFIG_HOME/mosaic/fleet/roster.yaml" "$HOME/.local/state/mosaic/fleet/logs/demo.log"
  fake_cmd systemctl 'exit 0'
  run --separate-stderr env PATH="$FAKEBIN:$PATH" "$ROOT/install.sh" --uninstall --purge
  assert_success
  [ ! -e "$XDG_CONFIG_HOME/mosaic" ]
  [ ! -e "$HOME/.local/state/mosaic" ]
  [ -d "$HOME/.local/state" ] && [ -d "$XDG_CONFIG_HOME" ]
}

@test "uninstall --purge keeps what is not ours beside our directories" {
  mkdir -p "$XDG_CONFIG_HOME/mosaic/fleet" "$XDG_CONFIG_HOME/mosaic/tools/fleet" "$XDG_CONFIG_HOME/mosaic/tools/other" "$HOME/.local/state/mosaic/fleet" "$HOME/.local/state/mosaic/other"
  touch "$XDG_CONFIG_HOME/mosaic/settings.yaml"
  fake_cmd systemctl 'exit 0'
  run --separate-stderr env PATH="$FAKEBIN:$PATH" "$ROOT/install.sh" --uninstall --purge
  assert_success
  [ ! -e "$XDG_CONFIG_HOME/mosaic/fleet" ] && [ ! -e "$XDG_CONFIG_HOME/mosaic/tools/fleet" ] && [ ! -e "$HOME/.local/state/mosaic/fleet" ]
  [ -f "$XDG_CONFIG_HOME/mosaic/settings.yaml" ] && [ -d "$XDG_CONFIG_HOME/mosaic/tools/other" ] && [ -d "$HOME/.local/state/mosaic/other" ]
}

@test "without bash-completion the installer says where the completion went and how to source it" {
  mkdir -p "$XDG_CONFIG_HOME/mosaic/tools/fleet/current/completions"
  in_installer "BASH_COMPLETION_SCRIPTS=(/nonexistent); install_completions"
  assert_success
  [[ "$stderr" == *"bash-completion is not installed"*"$HOME/.local/share/bash-completion/completions"*"source '$XDG_CONFIG_HOME/mosaic/tools/fleet/current/completions/mosaic-agent.bash'"* ]]
  [ -L "$HOME/.local/share/bash-completion/completions/mosaic-agent" ]
  touch "$BATS_TEST_TMPDIR/bash_completion"
  in_installer "BASH_COMPLETION_SCRIPTS=('$BATS_TEST_TMPDIR/bash_completion'); install_completions"
  assert_success
  [[ "$stderr" != *"bash-completion is not installed"* ]]
}

@test "a re-install that cannot start an agent again names only that agent, with the reason" {
  mkdir -p "$XDG_CONFIG_HOME/mosaic/fleet"
  printf 'mosaic-agent@good.service\nmosaic-agent@bad.service\n' >"$XDG_CONFIG_HOME/mosaic/fleet/.enabled-at-uninstall"
  fake_cmd systemctl 'case "$2 $3 $4" in
    "start "*) exit 1 ;;
    "is-active --quiet mosaic-agent@good.service") exit 0 ;;
    "is-active "*) exit 3 ;;
    "show -p Result") echo exit-code ;;
  esac
  exit 0'
  in_installer "PATH='$FAKEBIN':\$PATH; FRESH_TOOLS=1 NO_START=0; restore_fleet"
  assert_success
  [[ "$stderr" == *"could not start again: mosaic-agent@bad.service (exit-code; see 'systemctl --user status mosaic-agent@bad.service')"* ]]
  [[ "$stderr" != *"good.service"* ]]
}
