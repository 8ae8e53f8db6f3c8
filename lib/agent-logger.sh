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
# bytes every MAX_BYTES).
#
# The size is looked at every 2 seconds without forking (issue #12: forking
# sleep and stat there cost 13% of a core for 100 idle agents): the offset of
# cat's O_APPEND descriptor, in /proc/PID/fdinfo/1, is the file's size after
# its last write, and a `read -t` on a pipe nobody writes is the sleep.
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
exec {tick}<> <(:)
# The offset stays at its old value after the emptying until cat writes
# again: remember it, so an emptied file is not copied over FILE.1 once more.
rotated=
# The pane's end closes the pipe: cat ends, bash reaps it, and kill -0 fails.
while kill -0 "$copier" 2>/dev/null; do
  read -r -t 2 -u "$tick" _
  read -r _ size 2>/dev/null <"/proc/$copier/fdinfo/1" || continue
  if [ "$size" -ge "$max" ] && [ "$size" != "$rotated" ]; then
    cp -f "$file" "$file.1" && : >"$file" && rotated=$size
  fi
done
