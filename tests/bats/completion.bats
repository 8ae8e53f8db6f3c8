#!/usr/bin/env bats
# Shell completion for mosaic-agent and agent-send (completions/mosaic-agent.bash):
# the completion functions are called as bash calls them, with COMP_WORDS and
# COMP_CWORD set, and COMPREPLY is checked.

setup() {
  load helper
  common_setup
  unset MOSAIC_FLEET_CONFIG_DIR
  AGENTS="$XDG_CONFIG_HOME/mosaic/fleet/agents"
  mkdir -p "$AGENTS"
  touch "$AGENTS/alpha.env" "$AGENTS/beta.env" "$AGENTS/notes.txt" "$AGENTS/bad.name.env" "$AGENTS/_private.env"
  # shellcheck disable=SC1091 # the completion file is linted on its own
  source "$ROOT/completions/mosaic-agent.bash"
}

# complete FUNCTION WORD...: complete the last WORD of the command line WORD...
complete_line() {
  local fn=$1
  shift
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMPREPLY=()
  "$fn"
}

replies() {
  printf '%s\n' "${COMPREPLY[*]}"
}

@test "sourcing the file registers completions for mosaic-agent and agent-send" {
  run -0 complete -p mosaic-agent agent-send
  assert_line 'complete -F _mosaic_agent mosaic-agent'
  assert_line 'complete -F _mosaic_agent_send_command agent-send'
}

@test "the first word completes to every command" {
  complete_line _mosaic_agent mosaic-agent ''
  assert_equal "$(replies)" 'status start stop restart send read attach logs reset wait ask output events queue mcp apply doctor cutover worktree hosts'
}

@test "every command of mosaic-agent --help is completed, in bash and in zsh" {
  local commands c
  # The built tool's own help: the lines under "Commands:" up to the blank line.
  run -0 node "$ROOT/dist/bin/mosaic-agent.js" --help
  commands=$(printf '%s\n' "$output" | sed -n '/^Commands:$/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
  [ "$(printf '%s\n' "$commands" | wc -l)" -ge 10 ]
  complete_line _mosaic_agent mosaic-agent ''
  for c in $commands; do
    [[ " $(replies) " == *" $c "* ]] || fail "bash does not complete the command $c"
    grep -q "^    ['\"]$c:" "$ROOT/completions/_mosaic-agent" || fail "zsh does not complete the command $c"
    grep -Eq "^    \(([a-z|]+\|)?$c(\|[a-z|]+)?\)$" "$ROOT/completions/_mosaic-agent" || fail "zsh completes nothing after the command $c"
  done
}

@test "cutover offers its flags, and a file after --from-socket-path" {
  complete_line _mosaic_agent mosaic-agent cutover --
  assert_equal "$(replies)" '--from-socket --from-socket-path --dry-run --keep-going --roster'
  complete_line _mosaic_agent mosaic-agent cutover --from-socket ''
  assert_equal "$(replies)" ''
}

@test "a partly typed command completes to the commands it starts" {
  complete_line _mosaic_agent mosaic-agent re
  assert_equal "$(replies)" 'restart read reset'
}

@test "a dash as the first word completes to the global options" {
  complete_line _mosaic_agent mosaic-agent -
  assert_equal "$(replies)" '-h --help -V --version'
}

@test "after send, the agent names come from the env files (only names a unit could run)" {
  complete_line _mosaic_agent mosaic-agent send ''
  assert_equal "$(replies)" 'alpha beta'
}

@test "after send and options with values, agent names are still offered" {
  complete_line _mosaic_agent mosaic-agent send --from ci --no-submit b
  assert_equal "$(replies)" 'beta'
}

@test "after a comma, send completes the next name of the list, not one already in it" {
  complete_line _mosaic_agent mosaic-agent send alpha,b
  assert_equal "$(replies)" 'alpha,beta'
  complete_line _mosaic_agent mosaic-agent send alpha,
  assert_equal "$(replies)" 'alpha,beta'
}

@test "the message after the agent name, or after --all, is not completed" {
  complete_line _mosaic_agent mosaic-agent send alpha ''
  assert_equal "$(replies)" ''
  complete_line _mosaic_agent mosaic-agent send --all ''
  assert_equal "$(replies)" ''
}

@test "a dash after status completes to its flags" {
  complete_line _mosaic_agent mosaic-agent status -
  assert_equal "$(replies)" '--json --watch'
}

@test "each command offers its own flags" {
  complete_line _mosaic_agent mosaic-agent send --
  assert_equal "$(replies)" '--from --no-submit --force --timeout --json --quiet --all --wait --queue'
  complete_line _mosaic_agent mosaic-agent wait --
  assert_equal "$(replies)" '--until --timeout --any --json'
  complete_line _mosaic_agent mosaic-agent wait --until ''
  assert_equal "$(replies)" 'idle busy waiting change'
  complete_line _mosaic_agent mosaic-agent queue ''
  assert_equal "$(replies)" 'drop retry alpha beta'
  complete_line _mosaic_agent mosaic-agent restart -
  assert_equal "$(replies)" '--all'
  complete_line _mosaic_agent mosaic-agent logs -
  assert_equal "$(replies)" '-f --lines --raw'
  complete_line _mosaic_agent mosaic-agent apply --
  assert_equal "$(replies)" '--dry-run --prune --restart-busy --roster'
  complete_line _mosaic_agent mosaic-agent doctor -
  assert_equal "$(replies)" ''
}

@test "read takes one agent name and no value after --lines is guessed" {
  complete_line _mosaic_agent mosaic-agent read --lines 50 a
  assert_equal "$(replies)" 'alpha'
  complete_line _mosaic_agent mosaic-agent read alpha ''
  assert_equal "$(replies)" ''
  complete_line _mosaic_agent mosaic-agent read --lines ''
  assert_equal "$(replies)" ''
}

@test "agent-send completes agent names as its first positional word" {
  complete_line _mosaic_agent_send_command agent-send ''
  assert_equal "$(replies)" 'alpha beta'
  complete_line _mosaic_agent_send_command agent-send --json al
  assert_equal "$(replies)" 'alpha'
  complete_line _mosaic_agent_send_command agent-send alpha ''
  assert_equal "$(replies)" ''
}

@test "MOSAIC_FLEET_CONFIG_DIR moves where agent names are read" {
  mkdir -p "$BATS_TEST_TMPDIR/fleet/agents"
  touch "$BATS_TEST_TMPDIR/fleet/agents/gamma.env"
  MOSAIC_FLEET_CONFIG_DIR="$BATS_TEST_TMPDIR/fleet" complete_line _mosaic_agent mosaic-agent stop ''
  assert_equal "$(replies)" 'gamma'
}

@test "with no agents directory nothing is offered" {
  rm -r "$AGENTS"
  complete_line _mosaic_agent mosaic-agent send ''
  assert_equal "$(replies)" ''
}
