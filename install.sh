#!/usr/bin/env bash
# install.sh: install, update or remove mosaic-fleet for the current user.
#
# Puts the tools in ${XDG_CONFIG_HOME:-~/.config}/mosaic/tools/fleet, the
# systemd user units in ~/.config/systemd/user, enables and starts the tmux
# holder and the fleet target, and on the first install creates a `demo`
# agent (the `shell` runtime, no API key needed). Safe to re-run: it updates
# the tools atomically, keeps your roster and env files, and restarts nothing
# that is running. Run it as the user who will own the fleet.
set -euo pipefail

readonly MIN_NODE_MAJOR=20
readonly MIN_TMUX="3.2"
readonly CLI_TOOLS=(mosaic-agent agent-send)
# In the fleet config: the agents enabled when the tools were uninstalled.
readonly ENABLED_RECORD=.enabled-at-uninstall

usage() {
  cat <<'EOF'
Usage: ./install.sh [--no-demo] [--no-start]
       ./install.sh --uninstall [--purge]

Install or update mosaic-fleet for the current user.

Options:
  --no-demo     on a first install, do not create the `demo` agent
  --no-start    install and enable, but start nothing
  --uninstall   stop and remove the units, the tools and the command links;
                keep your fleet config (roster, env files) and transcripts
  --purge       with --uninstall: remove the fleet config and transcripts too
  -h, --help    show this help

Environment:
  XDG_CONFIG_HOME         config root (default ~/.config)
  XDG_STATE_HOME          state root for transcripts (default ~/.local/state)
  MOSAIC_BIN_DIR          where the commands are linked (default ~/.local/bin)

Examples:
  ./install.sh                      # install or update, start the fleet
  ./install.sh --uninstall          # remove, keeping the roster
  ./install.sh --uninstall --purge  # remove everything
EOF
}

say() { printf 'install.sh: %s\n' "$*" >&2; }
err() {
  say "error: $*"
  exit 1
}
need_cmd() {
  command -v "$1" >/dev/null 2>&1 || err "$1 is required but not found on PATH ($2)"
}

# version_ge A B: is version A >= version B (dotted numbers, letters ignored)?
version_ge() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

set_paths() {
  USER="${USER:-$(id -un)}"
  CONFIG_HOME="${XDG_CONFIG_HOME:-$HOME/.config}"
  TOOLS_DIR="$CONFIG_HOME/mosaic/tools/fleet"
  FLEET_DIR="$CONFIG_HOME/mosaic/fleet"
  UNIT_DIR="$CONFIG_HOME/systemd/user"
  STATE_DIR="${XDG_STATE_HOME:-$HOME/.local/state}/mosaic/fleet"
  BIN_DIR="${MOSAIC_BIN_DIR:-$HOME/.local/bin}"
  SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  # Where distributions put the bash-completion package's loader.
  BASH_COMPLETION_SCRIPTS=(/usr/share/bash-completion/bash_completion /etc/bash_completion /usr/local/share/bash-completion/bash_completion /usr/local/etc/profile.d/bash_completion.sh)
}

check_node() {
  need_cmd node "install Node.js $MIN_NODE_MAJOR or newer, e.g. 'apt-get install nodejs' or https://nodejs.org"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge "$MIN_NODE_MAJOR" ] ||
    err "Node.js $(node --version) is too old (need $MIN_NODE_MAJOR or newer; upgrade Node.js and re-run)"
}

check_tmux() {
  need_cmd tmux "install tmux $MIN_TMUX or newer, e.g. 'apt-get install tmux'"
  local v
  v="$(tmux -V | sed -E 's/^tmux (next-)?//; s/[^0-9.].*$//')"
  version_ge "$v" "$MIN_TMUX" || err "tmux $v is too old (need $MIN_TMUX or newer; upgrade tmux and re-run)"
}

check_user_manager() {
  need_cmd systemctl "mosaic-fleet needs systemd; install systemd or use a host that runs it"
  local out
  if ! out="$(systemctl --user show-environment 2>&1)"; then
    err "no systemd user manager answers ('systemctl --user' said: ${out%%$'\n'*}). Log in through a real session (ssh or console, not su or sudo) so that XDG_RUNTIME_DIR is set, or have root run 'loginctl enable-linger $USER', then re-run"
  fi
}

# The tools are compiled ahead of time; building needs npm and the dev dependencies.
# The build bundles each tool with its dependencies (lib/build/bundle.cts, with
# esbuild), so an install needs no node_modules.
needs_build() {
  [ -f "$SRC_DIR/dist/bundle/start-agent-session.js" ] || return 0
  [ -d "$SRC_DIR/lib" ] || return 1
  [ -n "$(find "$SRC_DIR/bin" "$SRC_DIR/lib" \( -name '*.ts' -o -name '*.cts' \) -newer "$SRC_DIR/dist/bundle/start-agent-session.js" -print -quit)" ]
}

build() {
  needs_build || return 0
  need_cmd npm "npm comes with Node.js; it is needed to build from a source checkout"
  say "building the tools"
  if [ ! -x "$SRC_DIR/node_modules/.bin/tsx" ] || [ ! -d "$SRC_DIR/node_modules/esbuild" ]; then
    (cd "$SRC_DIR" && npm ci --no-audit --no-fund >&2) || err "npm ci failed (check the network to the npm registry and re-run)"
  fi
  (cd "$SRC_DIR" && npm run --silent build >&2) || err "the build failed (run 'npm run build' in $SRC_DIR to see why)"
}

fingerprint() {
  (cd "$1" && find . -type f ! -name FINGERPRINT -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

# Stage a complete release beside the current one, then switch the `current`
# link with one rename: a unit starting mid-upgrade sees old or new, never a mix.
install_tools() {
  local version node_bin stage name f flags old_version="" fp
  version="$(node -p "require('$SRC_DIR/package.json').version")"
  node_bin="$(command -v node)"
  node_bin="$(cd "$(dirname "$node_bin")" && pwd -P)/$(basename "$node_bin")"
  mkdir -p "$TOOLS_DIR/releases"
  stage="$(mktemp -d "$TOOLS_DIR/releases/.staging.XXXXXX")"
  trap 'rm -rf "$stage"' EXIT
  cp -R "$SRC_DIR/dist" "$SRC_DIR/units" "$SRC_DIR/package.json" "$stage/"
  [ -f "$SRC_DIR/README.md" ] && cp "$SRC_DIR/README.md" "$stage/"
  [ -d "$SRC_DIR/completions" ] && cp -R "$SRC_DIR/completions" "$stage/"
  # `mosaic-agent hosts install` copies the release it runs from to other hosts: with this script.
  cp "$SRC_DIR/install.sh" "$stage/"
  # Code caches from runs in the checkout: each installed release writes its own on first use.
  find "$stage/dist" -name '*.cache' -type f -delete
  mkdir -p "$stage/bin"
  # The launchers are CommonJS (bin/package.json), so `--version` is answered
  # without loading Node's ES module loader or any of the tool (issue #5 wants
  # it within 1.3x of bare Node); anything else imports the compiled tool.
  printf '{ "type": "commonjs" }\n' >"$stage/bin/package.json"
  # A V8 flag this Node does not know would stop the dispatcher from
  # starting at all: ask Node first.
  local dispatcher_flag=--jitless
  "$node_bin" --lite-mode -e 0 >/dev/null 2>&1 && dispatcher_flag=--lite-mode
  for f in "$stage"/dist/bin/*.js; do
    name="$(basename "$f" .js)"
    # An absolute node in the shebang: units run with a bare PATH.
    # The dispatcher is the one long-lived Node process: without a JIT it
    # needs ~6 MB less and is fast enough for what it does (issue #16).
    # --lite-mode is --jitless and V8's --optimize-for-size: a 1 MB semi-space
    # (not up to 16 MB after a burst of events) and a heap grown in small
    # steps. One flag, as a shebang line can pass only one argument.
    flags=
    [ "$name" = mosaic-dispatcher ] && flags=" $dispatcher_flag"
    cat >"$stage/bin/$name" <<LAUNCHER
#!$node_bin$flags
const arg = process.argv[2];
if (arg === '--version' || arg === '-V') {
  const version = require('fs').readFileSync(require('path').join(__dirname, '..', 'VERSION'), 'utf8').trim();
  process.stdout.write('$name ' + version + '\\n');
} else {
  require('../dist/bin/$name.js');
}
LAUNCHER
    chmod 755 "$stage/bin/$name"
  done
  printf '%s\n' "$version" >"$stage/VERSION"
  fp="$(fingerprint "$stage")"
  printf '%s\n' "$fp" >"$stage/FINGERPRINT"

  if [ -f "$TOOLS_DIR/current/VERSION" ]; then
    old_version="$(cat "$TOOLS_DIR/current/VERSION")"
    if [ "$(cat "$TOOLS_DIR/current/FINGERPRINT" 2>/dev/null)" = "$fp" ]; then
      say "tools already up to date ($version)"
      rm -rf "$stage"
      trap - EXIT
      link_bin_dir
      return 0
    fi
    if version_ge "$old_version" "$version" && [ "$old_version" != "$version" ]; then
      say "downgrading the tools from $old_version to $version"
    else
      say "already installed ($old_version), updating to $version"
    fi
  else
    say "installing the tools ($version) into $TOOLS_DIR"
  fi
  local release
  release="$version-$(date +%Y%m%d%H%M%S)-$fp"
  mv "$stage" "$TOOLS_DIR/releases/$release"
  trap - EXIT
  ln -sfn "releases/$release" "$TOOLS_DIR/.current.new"
  mv -T "$TOOLS_DIR/.current.new" "$TOOLS_DIR/current"
  link_bin_dir
  prune_releases "$release"
}

link_bin_dir() {
  if [ ! -L "$TOOLS_DIR/bin" ]; then
    rm -rf "${TOOLS_DIR:?}/bin"
    ln -s current/bin "$TOOLS_DIR/bin"
  fi
}

# Keep the current release and the newest other one (a running unit may still use it).
prune_releases() {
  local keep="$1" r kept=0
  # Newest first by modification time; staging dirs (.staging.*) are skipped.
  while IFS= read -r r; do
    [ "$r" = "$keep" ] && continue
    if [ "$kept" -lt 1 ]; then
      kept=1
      continue
    fi
    rm -rf "${TOOLS_DIR:?}/releases/$r"
  done < <(find "$TOOLS_DIR/releases" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%T@ %f\n' | sort -rn | cut -d' ' -f2-)
}

install_units() {
  local f dest changed=()
  mkdir -p "$UNIT_DIR"
  for f in "$SRC_DIR"/units/*; do
    dest="$UNIT_DIR/$(basename "$f")"
    if [ -f "$dest" ] && cmp -s "$f" "$dest"; then continue; fi
    [ -f "$dest" ] && changed+=("$(basename "$f")")
    cp "$f" "$dest.tmp.$$"
    mv -f "$dest.tmp.$$" "$dest"
  done
  systemctl --user daemon-reload
  systemctl --user enable --quiet mosaic-tmux-holder.service mosaic-fleet.target mosaic-fleet-dispatch.service
  for f in "${changed[@]+"${changed[@]}"}"; do
    case "$f" in
      mosaic-tmux-holder.service)
        say "note: the holder's unit changed; it applies at the holder's next restart, which restarts every agent (systemctl --user restart mosaic-tmux-holder)" ;;
      mosaic-agent@.service)
        say "note: the agent unit changed; running agents keep their old settings until restarted (mosaic-agent restart --all)" ;;
      mosaic-fleet-dispatch.service)
        # Nothing is lost by restarting it: queued messages are on disk.
        systemctl --user try-restart mosaic-fleet-dispatch.service || true ;;
      *) say "note: $f changed" ;;
    esac
  done
}

write_if_absent() {
  local path="$1" mode="$2" content="$3"
  [ -e "$path" ] && return 0
  mkdir -p "$(dirname "$path")"
  printf '%s' "$content" >"$path.tmp.$$"
  chmod "$mode" "$path.tmp.$$"
  mv "$path.tmp.$$" "$path"
}

# First install: a fleet-wide env file recording the user's PATH (so units find
# runtimes installed under ~/.local/bin, npm's prefix or nvm) and a roster with
# a demo agent. The roster itself is carried out by `mosaic-agent apply`.
setup_fleet_config() {
  local first=0
  [ -d "$FLEET_DIR" ] || first=1
  mkdir -p "$FLEET_DIR/agents"
  chmod 700 "$FLEET_DIR"
  write_if_absent "$FLEET_DIR/fleet.env" 600 "# mosaic-fleet: settings for every agent (systemd EnvironmentFile syntax).
# PATH the agents' runtimes are looked up on, recorded from the installing shell.
MOSAIC_USER_PATH=$PATH
"
  if [ "$first" = 1 ] && [ "$NO_DEMO" = 0 ]; then
    write_if_absent "$FLEET_DIR/roster.yaml" 600 "# mosaic-fleet roster: see the README (Configuration) and examples/.
# Change it, then run: mosaic-agent apply
agents:
  demo:
    runtime: shell
"
    say "created a roster with the demo agent (runtime shell) in $FLEET_DIR"
  elif [ "$first" = 0 ]; then
    say "keeping your fleet config in $FLEET_DIR"
  fi
}

# After a first install, or an install after --uninstall (which keeps the
# config), bring the fleet up from its config: the agents that were enabled
# when it was uninstalled, and the roster through apply. A plain update does
# none of this: running agents are left alone.
restore_fleet() {
  local units
  [ "$FRESH_TOOLS" = 1 ] || return 0
  if [ -f "$FLEET_DIR/$ENABLED_RECORD" ]; then
    units="$(cat "$FLEET_DIR/$ENABLED_RECORD")"
    if [ -n "$units" ]; then
      # shellcheck disable=SC2086 # one unit name per word
      systemctl --user enable --quiet $units || say "warning: could not enable again: $units"
      # shellcheck disable=SC2086
      [ "$NO_START" = 1 ] || systemctl --user start $units || say_not_started $units
    fi
    rm -f "$FLEET_DIR/$ENABLED_RECORD"
  fi
  if [ -f "$FLEET_DIR/roster.yaml" ] || [ -f "$FLEET_DIR/roster.json" ]; then
    if [ "$NO_START" = 1 ]; then
      say "run 'mosaic-agent apply' to start the agents of your roster"
    else
      "$TOOLS_DIR/bin/mosaic-agent" apply >&2 || err "applying the roster failed (fix it, then run: mosaic-agent apply)"
    fi
  fi
}

# say_not_started UNIT...: after a start of several units failed, name only
# those that did not start, each with systemd's reason for it.
say_not_started() {
  local u result failed=()
  for u in "$@"; do
    systemctl --user is-active --quiet "$u" && continue
    result="$(systemctl --user show -p Result --value "$u" 2>/dev/null)"
    failed+=("$u (${result:-unknown}; see 'systemctl --user status $u')")
  done
  [ "${#failed[@]}" -gt 0 ] || failed=("some of: $*")
  local f
  for f in "${failed[@]}"; do say "warning: could not start again: $f"; done
}

start_fleet() {
  [ "$NO_START" = 1 ] && return 0
  # Starting units that already run is a no-op: running agents are not restarted.
  systemctl --user start mosaic-tmux-holder.service mosaic-fleet.target mosaic-fleet-dispatch.service ||
    err "the fleet did not start (see 'systemctl --user status mosaic-tmux-holder mosaic-fleet.target mosaic-fleet-dispatch')"
}

link_commands() {
  local t
  mkdir -p "$BIN_DIR"
  for t in "${CLI_TOOLS[@]}"; do
    [ -e "$TOOLS_DIR/bin/$t" ] || continue
    ln -sfn "$TOOLS_DIR/bin/$t" "$BIN_DIR/$t"
  done
  case ":$PATH:" in
    *":$BIN_DIR:"*) ;;
    *) say "note: $BIN_DIR is not on your PATH; add it (e.g. in ~/.profile: PATH=\"$BIN_DIR:\$PATH\") to run mosaic-agent and agent-send" ;;
  esac
}

# Completion for bash and zsh (agent names included), in the per-user places
# both shells look: bash-completion's user dir, and a zsh site-functions dir.
install_completions() {
  local data="${XDG_DATA_HOME:-$HOME/.local/share}"
  [ -d "$TOOLS_DIR/current/completions" ] || return 0
  mkdir -p "$data/bash-completion/completions" "$data/zsh/site-functions"
  ln -sfn "$TOOLS_DIR/current/completions/mosaic-agent.bash" "$data/bash-completion/completions/mosaic-agent"
  ln -sfn "$TOOLS_DIR/current/completions/mosaic-agent.bash" "$data/bash-completion/completions/agent-send"
  ln -sfn "$TOOLS_DIR/current/completions/_mosaic-agent" "$data/zsh/site-functions/_mosaic-agent"
  # Only the bash-completion package reads its user directory: without it, bash never loads the file.
  local f
  for f in "${BASH_COMPLETION_SCRIPTS[@]}"; do [ -f "$f" ] && return 0; done
  say "note: bash-completion is not installed, so bash will not load the completion put in $data/bash-completion/completions; install the bash-completion package, or add to ~/.bashrc: source '$TOOLS_DIR/current/completions/mosaic-agent.bash'"
}

enable_linger() {
  command -v loginctl >/dev/null 2>&1 || {
    say "warning: loginctl not found; agents may stop when you log out"
    return 0
  }
  if [ "$(loginctl show-user "$USER" -p Linger --value 2>/dev/null)" = yes ]; then return 0; fi
  if loginctl enable-linger "$USER" 2>/dev/null; then
    say "enabled linger for $USER: the fleet survives logout"
  else
    say "warning: could not enable linger: agents stop when you log out (fix: sudo loginctl enable-linger $USER)"
  fi
}

uninstall() {
  check_user_manager
  local units
  # Remember which agents were enabled, so that installing again brings them back.
  if [ -d "$FLEET_DIR" ] && [ "$PURGE" = 0 ]; then
    find "$UNIT_DIR/mosaic-fleet.target.wants" -name 'mosaic-agent@*.service' -printf '%f\n' 2>/dev/null >"$FLEET_DIR/$ENABLED_RECORD" || true
  fi
  say "stopping the fleet"
  units="$(systemctl --user list-units --all --plain --no-legend 'mosaic-agent@*' | awk '{print $1}')"
  # shellcheck disable=SC2086 # one unit name per word
  systemctl --user stop mosaic-fleet-dispatch.service mosaic-fleet.target $units mosaic-tmux-holder.service 2>/dev/null || true
  # shellcheck disable=SC2086
  systemctl --user disable --quiet mosaic-tmux-holder.service mosaic-fleet.target mosaic-fleet-dispatch.service $units 2>/dev/null || true
  rm -rf "$UNIT_DIR/mosaic-fleet.target.wants"
  rm -f "$UNIT_DIR/mosaic-tmux-holder.service" "$UNIT_DIR/mosaic-agent@.service" "$UNIT_DIR/mosaic-fleet.target" "$UNIT_DIR/mosaic-fleet-dispatch.service"
  systemctl --user daemon-reload
  systemctl --user reset-failed 'mosaic-*' 2>/dev/null || true
  local t
  for t in "${CLI_TOOLS[@]}"; do
    if [ -L "$BIN_DIR/$t" ] && [ "$(readlink "$BIN_DIR/$t")" = "$TOOLS_DIR/bin/$t" ]; then rm -f "$BIN_DIR/$t"; fi
  done
  local data="${XDG_DATA_HOME:-$HOME/.local/share}" c
  for c in "$data/bash-completion/completions/mosaic-agent" "$data/bash-completion/completions/agent-send" "$data/zsh/site-functions/_mosaic-agent"; do
    case "$(readlink "$c" 2>/dev/null)" in "$TOOLS_DIR"/*) rm -f "$c" ;; esac
  done
  rm -rf "$TOOLS_DIR"
  if [ "$PURGE" = 1 ]; then
    rm -rf "$FLEET_DIR" "$STATE_DIR"
    # The parents too, once nothing else is in them (another mosaic tool's files keep them).
    rmdir "$CONFIG_HOME/mosaic/tools" "$(dirname "$STATE_DIR")" "$CONFIG_HOME/mosaic" 2>/dev/null || true
    say "removed mosaic-fleet, its config and transcripts"
  else
    rmdir "$CONFIG_HOME/mosaic/tools" 2>/dev/null || true
    say "removed mosaic-fleet; kept your config in $FLEET_DIR (--purge removes it)"
  fi
}

main() {
  local action=install
  NO_DEMO=0 NO_START=0 PURGE=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --no-demo) NO_DEMO=1 ;;
      --no-start) NO_START=1 ;;
      --uninstall) action=uninstall ;;
      --purge) PURGE=1 ;;
      -h | --help)
        usage
        return 0
        ;;
      *)
        say "error: unknown option '$1' (see ./install.sh --help)"
        return 2
        ;;
    esac
    shift
  done
  if [ "$PURGE" = 1 ] && [ "$action" != uninstall ]; then
    say "error: --purge goes with --uninstall (see ./install.sh --help)"
    return 2
  fi
  [ -n "${HOME:-}" ] || err "HOME is not set"
  set_paths
  if [ "$action" = uninstall ]; then
    uninstall
    return 0
  fi
  check_node
  check_tmux
  check_user_manager
  build
  FRESH_TOOLS=0
  [ -e "$TOOLS_DIR/current" ] || FRESH_TOOLS=1
  install_tools
  install_units
  setup_fleet_config
  link_commands
  install_completions
  enable_linger
  start_fleet
  restore_fleet
  [ "$NO_START" = 1 ] || say "the fleet is running: mosaic-agent status"
}

# Sourcing with MOSAIC_INSTALL_SOURCED=1 defines the functions without running (for tests).
if [ "${MOSAIC_INSTALL_SOURCED:-0}" != 1 ]; then
  main "$@"
fi
