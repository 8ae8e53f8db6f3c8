#!/bin/bash
# agent-waiter PID: live exactly as long as process PID does, counting a
# zombie as dead. The main process of mosaic-agent@NAME.service (see
# lib/supervisor.ts). `tail --pid` would be smaller still, but it counts a
# zombie as alive, and tmux 3.3a can leave a SIGKILLed pane process unreaped
# for as long as the pane stays (remain-on-exit), so the unit never noticed.
# Only builtins run in the loop: no fork per check.
pid="$1"
interval="${2:-0.5}"
case "$pid" in '' | *[!0-9]*) echo "agent-waiter: usage: agent-waiter PID [SECONDS]" >&2; exit 2 ;; esac
# A pipe whose write end we hold ourselves never delivers data: `read -t`
# on it is a sleep without forking sleep(1).
exec {tick}<> <(:)
while read -r stat 2>/dev/null <"/proc/$pid/stat"; do
  rest="${stat##*) }"
  case "${rest%% *}" in Z | X | x) exit 0 ;; esac
  read -r -t "$interval" -u "$tick" _
done
exit 0
