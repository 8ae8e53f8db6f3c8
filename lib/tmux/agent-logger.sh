#!/bin/bash
# agent-logger FILE [MAX_BYTES]: append what an agent's pane prints (fed on
# stdin by `tmux pipe-pane`) to FILE, mode 0600, and once FILE has reached
# MAX_BYTES rename it to FILE.1 and start a new FILE: a durable transcript with a
# bounded size (about twice MAX_BYTES on disk at most).
#
# `head -c` copies exactly the bytes left before the cap and exits, then the
# file is rotated and the next `head` goes on: nothing polls, so an idle
# agent's writer costs no CPU at all (issue #12: looking at the size every
# 2 s with sleep and stat cost 13% of a core for 100 idle agents). bash's own
# `read` would take the pipe one byte per system call (~70% of a core for a
# busy pi agent, bench/README.md).
file="$1"
max="${2:-5242880}"
case "$max" in '' | *[!0-9]*) echo "agent-logger: usage: agent-logger FILE [MAX_BYTES]" >&2; exit 2 ;; esac
[ -n "$file" ] || { echo "agent-logger: usage: agent-logger FILE [MAX_BYTES]" >&2; exit 2; }
umask 077
exec 3>>"$file" || exit 1
size=$(stat -c %s "$file" 2>/dev/null) || size=0
while :; do
  room=$((max - size))
  if [ "$room" -gt 0 ]; then
    # head writes through stdio, which would hold output back: unbuffered.
    stdbuf -o0 head -c "$room" >&3 || exit 0
    # fd 3 was opened with O_APPEND and only head wrote through it: its
    # offset is 0 if head wrote nothing, else the file's size after its
    # last write. Short of the cap, head met the end of the pipe: the pane ended.
    read -r _ now 2>/dev/null <"/proc/$BASHPID/fdinfo/3" || exit 0
    [ "$now" -ge "$max" ] || exit 0
  fi
  # Nothing is lost: the pane's output waits in the pipe until the next head.
  # A rename, not a copy and a truncation: FILE.1 never shows half a copy,
  # and no reader finds the same output in both files at once.
  mv -f "$file" "$file.1" || exit 1
  exec 3>&- 3>>"$file" || exit 1
  size=0
done
