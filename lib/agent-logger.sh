#!/bin/bash
# agent-logger FILE [MAX_BYTES]: append what an agent's pane prints (fed on
# stdin by `tmux pipe-pane`) to FILE, mode 0600, and once FILE has reached
# MAX_BYTES copy it to FILE.1 and empty it: a durable transcript with a
# bounded size (about twice MAX_BYTES on disk at most).
#
# `cat` does the copying. bash's `read` takes a pipe one byte per system call,
# which cost ~70% of a core for a busy pi agent (bench/README.md). cat writes
# through an O_APPEND descriptor, so once the file is emptied it writes at its
# start again; what arrives between the copy and the emptying is lost (a few
# bytes every MAX_BYTES). The size is looked at every 2 seconds: two forks,
# a small cost per agent while it is idle.
file="$1"
max="${2:-5242880}"
case "$max" in '' | *[!0-9]*) echo "agent-logger: usage: agent-logger FILE [MAX_BYTES]" >&2; exit 2 ;; esac
[ -n "$file" ] || { echo "agent-logger: usage: agent-logger FILE [MAX_BYTES]" >&2; exit 2; }
umask 077
exec 3>>"$file" || exit 1
# An explicit stdin: a background command would get /dev/null instead.
cat <&0 >&3 &
copier=$!
exec 3>&- 0<&-
# The pane's end closes the pipe: cat ends, bash reaps it, and kill -0 fails.
while kill -0 "$copier" 2>/dev/null; do
  sleep 2
  size=$(stat -c %s "$file" 2>/dev/null) || continue
  if [ "$size" -ge "$max" ]; then
    cp -f "$file" "$file.1" && : >"$file"
  fi
done
