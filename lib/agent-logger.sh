#!/bin/bash
# agent-logger FILE [MAX_BYTES]: append what an agent's pane prints (fed on
# stdin by `tmux pipe-pane`) to FILE, mode 0600, and when FILE reaches
# MAX_BYTES move it to FILE.1 and start a new one: a durable transcript with a
# bounded size (at most about twice MAX_BYTES on disk). The loop uses only
# builtins (read with a timeout returns partial chunks at once), so it costs no
# fork per chunk and follows the agent's output within half a second.
file="$1"
max="${2:-5242880}"
case "$max" in '' | *[!0-9]*) echo "agent-logger: usage: agent-logger FILE [MAX_BYTES]" >&2; exit 2 ;; esac
[ -n "$file" ] || { echo "agent-logger: usage: agent-logger FILE [MAX_BYTES]" >&2; exit 2; }
export LC_ALL=C # count and copy bytes, not characters
umask 077
exec 3>>"$file" || exit 1
size=$(stat -c %s "$file" 2>/dev/null || echo 0)
while :; do
  chunk=""
  if IFS= read -r -d '' -N 4096 -t 0.5 chunk; then :; else
    status=$?
    # Status > 128: timed out, with whatever arrived in $chunk. Otherwise end of input.
    if [ "$status" -le 128 ] && [ -z "$chunk" ]; then exit 0; fi
  fi
  [ -z "$chunk" ] && continue
  printf '%s' "$chunk" >&3
  size=$((size + ${#chunk}))
  if [ "$size" -ge "$max" ]; then
    exec 3>&-
    mv -f "$file" "$file.1"
    exec 3>>"$file" || exit 1
    size=0
  fi
done
