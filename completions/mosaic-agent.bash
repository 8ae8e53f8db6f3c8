# bash completion for mosaic-fleet's mosaic-agent and agent-send.
#
# Install: source this file from ~/.bashrc, or copy it to
# ~/.local/share/bash-completion/completions/mosaic-agent and link
# agent-send to it there. Agent names are the NAME.env files in
# ${MOSAIC_FLEET_CONFIG_DIR:-${XDG_CONFIG_HOME:-$HOME/.config}/mosaic/fleet}/agents,
# found with a glob: completing starts no program.
#
# Every function returns 0: an unmatched test as the last command would make
# bash (and `set -e` callers such as bats) treat the completion as failed.

_mosaic_agent_commands=(status start stop restart send read attach logs reset wait ask output events queue mcp apply doctor cutover worktree hosts)

# _mosaic_agent_add CUR WORD...: add to COMPREPLY each WORD that starts with CUR.
_mosaic_agent_add() {
  local cur=$1 w
  shift
  for w in "$@"; do
    if [[ $w == "$cur"* ]]; then COMPREPLY+=("$w"); fi
  done
  return 0
}

# _mosaic_agent_names CUR [list]: add the agent names that start with CUR;
# with "list", CUR is NAME[,NAME...] and the name after its last comma is completed.
_mosaic_agent_names() {
  local cur=$1 prefix='' f n
  local dir="${MOSAIC_FLEET_CONFIG_DIR:-${XDG_CONFIG_HOME:-$HOME/.config}/mosaic/fleet}/agents"
  if [[ ${2-} == list && $cur == *,* ]]; then
    prefix=${cur%,*},
    cur=${cur##*,}
  fi
  for f in "$dir"/*.env; do
    n=${f##*/}
    n=${n%.env}
    # Only names a unit could run (lib/names.ts), each once in a list; an
    # unmatched glob stays literal and fails -f.
    if [[ -f $f && $n =~ ^[A-Za-z0-9][A-Za-z0-9_-]*$ && $n == "$cur"* && ,$prefix != *,"$n",* ]]; then
      COMPREPLY+=("$prefix$n")
    fi
  done
  return 0
}

# The word before the one being completed, looking through the `=` of `--flag=value`
# (bash splits words at `=`, see COMP_WORDBREAKS).
_mosaic_agent_prev() {
  local i=$((COMP_CWORD - 1))
  if [[ ${COMP_WORDS[COMP_CWORD]} == = ]]; then i=$COMP_CWORD; fi
  if [[ ${COMP_WORDS[i]} == = ]] && ((i > 0)); then i=$((i - 1)); fi
  _mosaic_agent_prev_word=${COMP_WORDS[i]}
  return 0
}

# _mosaic_agent_send FIRST: agent-send's grammar from word FIRST on: options,
# then NAME[,NAME...] (none with --all), then the message, which is not completed.
_mosaic_agent_send() {
  local first=$1 cur=${COMP_WORDS[COMP_CWORD]} i all=0
  _mosaic_agent_prev
  case $_mosaic_agent_prev_word in
    --from | --timeout) return 0 ;;
  esac
  for ((i = first; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      --from | --timeout)
        i=$((i + 1))
        if [[ ${COMP_WORDS[i]} == = ]]; then i=$((i + 1)); fi
        ;;
      --all) all=1 ;;
      --)
        # Everything after -- is positional: the name, then the message.
        if ((i + 1 == COMP_CWORD && all == 0)); then _mosaic_agent_names "$cur" list; fi
        return 0
        ;;
      -?*) ;;
      *) return 0 ;; # the name (or with --all the message) has begun
    esac
  done
  if [[ $cur == -* ]]; then
    _mosaic_agent_add "$cur" --from --no-submit --force --timeout --json --quiet --all --wait --queue
  elif ((all == 0)); then
    _mosaic_agent_names "$cur" list
  fi
  return 0
}

_mosaic_agent() {
  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]-} flags=() names=none i given=0
  COMPREPLY=()
  if ((COMP_CWORD == 1)); then
    if [[ $cur == -* ]]; then
      _mosaic_agent_add "$cur" -h --help -V --version
    else
      _mosaic_agent_add "$cur" "${_mosaic_agent_commands[@]}"
    fi
    return 0
  fi
  if [[ $cmd == send ]]; then
    _mosaic_agent_send 2
    return 0
  fi
  _mosaic_agent_prev
  case $_mosaic_agent_prev_word in
    --lines | --from-socket | --timeout | --from | --until)
      if [[ $_mosaic_agent_prev_word == --until ]]; then _mosaic_agent_add "$cur" idle busy waiting change; fi
      return 0
      ;;
    --roster | --from-socket-path)
      # Let readline complete a file name.
      compopt -o default 2>/dev/null
      return 0
      ;;
  esac
  case $cmd in
    status) flags=(--json --watch) names=many ;;
    wait) flags=(--until --timeout --any --json) names=many ;;
    ask) flags=(--timeout --from --json) names=one ;;
    output) flags=(--json) names=one ;;
    events) flags=(-f --lines --json) names=one ;;
    queue)
      flags=(--json) names=many
      if ((COMP_CWORD == 2)) && [[ $cur != -* ]]; then _mosaic_agent_add "$cur" drop retry; fi
      ;;
    start | stop | restart) flags=(--all) names=many ;;
    read) flags=(--lines) names=one ;;
    attach) flags=(--read-only) names=one ;;
    logs) flags=(-f --lines --raw) names=one ;;
    reset) names=many ;;
    hosts)
      flags=(--json)
      if ((COMP_CWORD == 2)) && [[ $cur != -* ]]; then _mosaic_agent_add "$cur" install socket; fi
      ;;
    apply) flags=(--dry-run --prune --restart-busy --roster) ;;
    cutover) flags=(--from-socket --from-socket-path --dry-run --keep-going --roster) ;;
    worktree)
      flags=(--json --force) names=many
      if ((COMP_CWORD == 2)) && [[ $cur != -* ]]; then _mosaic_agent_add "$cur" remove; fi
      ;;
    *) return 0 ;;
  esac
  if [[ $cur == -* ]]; then
    _mosaic_agent_add "$cur" "${flags[@]}"
    return 0
  fi
  if [[ $names == one ]]; then
    for ((i = 2; i < COMP_CWORD; i++)); do
      case ${COMP_WORDS[i]} in
        --lines | --timeout | --from)
          i=$((i + 1))
          if [[ ${COMP_WORDS[i]} == = ]]; then i=$((i + 1)); fi
          ;;
        -*) ;;
        *) given=1 ;;
      esac
    done
    if ((given)); then return 0; fi
  fi
  if [[ $names != none ]]; then _mosaic_agent_names "$cur"; fi
  return 0
}

_mosaic_agent_send_command() {
  COMPREPLY=()
  _mosaic_agent_send 1
  return 0
}

complete -F _mosaic_agent mosaic-agent
complete -F _mosaic_agent_send_command agent-send
