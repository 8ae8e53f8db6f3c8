# shellcheck shell=bash
# The startup file of a `shell` agent whose login shell is bash, run as
# `bash --rcfile THIS -i`. A login shell (`bash -l`) re-reads /etc/profile,
# which on Debian and most distributions sets PATH outright, so the agent lost
# the PATH the fleet found its tools on (~/.local/bin with agent-send, the npm
# prefix, nvm: issue #13). This file reads the same files a login bash reads,
# in the same order, and then puts the fleet's PATH (MOSAIC_FLEET_PATH) back
# in front, without editing any of the user's files.
if [ -r /etc/profile ]; then
  # shellcheck source=/dev/null
  . /etc/profile
fi
for mosaic_startup in "$HOME/.bash_profile" "$HOME/.bash_login" "$HOME/.profile"; do
  if [ -r "$mosaic_startup" ]; then
    # shellcheck source=/dev/null
    . "$mosaic_startup"
    break
  fi
done
unset mosaic_startup

# The fleet's directories first, in the fleet's order (what it resolved the
# runtime on), then what the startup files added; each directory once.
if [ -n "${MOSAIC_FLEET_PATH:-}" ]; then
  mosaic_path=
  IFS=: read -r -a mosaic_dirs <<<"$MOSAIC_FLEET_PATH:$PATH"
  for mosaic_dir in "${mosaic_dirs[@]}"; do
    # An empty entry would put the current directory on PATH.
    [ -n "$mosaic_dir" ] || continue
    case ":$mosaic_path:" in
      *":$mosaic_dir:"*) ;;
      *) mosaic_path=${mosaic_path:+$mosaic_path:}$mosaic_dir ;;
    esac
  done
  PATH=$mosaic_path
  export PATH
  unset mosaic_path mosaic_dirs mosaic_dir
fi

# The agent's events (issue #15): a command line started (PS0, shown after a
# line is read and before it runs) is `busy`, a prompt (PROMPT_COMMAND, run
# first so that it sees the command's $?) is `idle` with the exit status.
# Added after the user's startup files, so theirs cannot replace them, and
# next to the user's own PS0 and PROMPT_COMMAND, which still run. Builtins
# only, but for the PS0 subshell and a size check every 64 lines.
if [ -n "${MOSAIC_EVENT_LOG:-}" ]; then
  mosaic_event_count=0
  mosaic_event() {
    local now=${EPOCHREALTIME//[.,]/} size
    if [ $((mosaic_event_count++ % 64)) -eq 0 ]; then
      size=$(stat -c %s -- "$MOSAIC_EVENT_LOG" 2>/dev/null) || size=0
      if [ "${size:-0}" -gt "${MOSAIC_EVENT_LOG_MAX_BYTES:-2097152}" ]; then
        mv -f -- "$MOSAIC_EVENT_LOG" "$MOSAIC_EVENT_LOG.1" 2>/dev/null
      fi
    fi
    # The log is the user's alone (mode 0600), whatever the shell's umask.
    [ -e "$MOSAIC_EVENT_LOG" ] || (umask 077 && : >>"$MOSAIC_EVENT_LOG") 2>/dev/null
    printf '{"ts":%s,"agent":"%s","kind":"%s","via":"bash:%s","data":%s}\n' \
      "${now:0:13}" "${MOSAIC_AGENT_NAME:-}" "$1" "$2" "$3" 2>/dev/null >>"$MOSAIC_EVENT_LOG"
    return 0
  }
  mosaic_prompt_event() {
    local status=$?
    mosaic_event idle PROMPT_COMMAND "{\"status\":$status}"
    return $status
  }
  # shellcheck disable=SC2016 # expanded by bash each time PS0 is shown
  PS0=${PS0:-}'$(mosaic_event busy PS0 null)'
  PROMPT_COMMAND="mosaic_prompt_event${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
fi
