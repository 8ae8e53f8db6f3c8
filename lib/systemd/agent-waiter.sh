#!/bin/bash
# agent-waiter PID: live exactly as long as process PID does, counting a
# zombie as dead. The main process of mosaic-agent@NAME.service (see
# lib/systemd/supervisor.ts). `tail --pid` would be smaller still, but it counts a
# zombie as alive, and tmux 3.3a can leave a SIGKILLed pane process unreaped
# for as long as the pane stays (remain-on-exit), so the unit never noticed.
#
# Where perl is (Debian's perl-base is essential), the waiter is a perl
# process (named `agent-waiter PID` in ps) blocked on a pidfd (Linux >= 5.3): it wakes only when the agent
# ends, zombie or gone, and costs no CPU meanwhile (issue #12: 100 bash
# waiters polling every 0.5 s cost ~3% of a core). Without pidfd it polls
# /proc the same way as the bash loop below, which runs where perl is missing.
# Only builtins run in that loop: no fork per check.
pid="$1"
interval="${2:-0.5}"
case "$pid" in '' | *[!0-9]*) echo "agent-waiter: usage: agent-waiter PID [SECONDS]" >&2; exit 2 ;; esac
case "$interval" in '' | *[!0-9.]*) echo "agent-waiter: usage: agent-waiter PID [SECONDS]" >&2; exit 2 ;; esac
# 434 is pidfd_open on every Linux architecture; errno 3 is ESRCH (no such
# process: already gone), 4 EINTR. Plain numbers: %! would load Errno.pm (+1 MB).
# shellcheck disable=SC2016 # perl code, not for the shell to expand
waiter='
my ($pid, $interval) = @ARGV;
$0 = "agent-waiter $pid";
my $fd = syscall(434, $pid + 0, 0);
if ($fd >= 0) {
  my $in = ""; vec($in, $fd, 1) = 1;
  1 while select(my $ready = $in, undef, undef, undef) < 0 && $! == 4;
  exit 0;
}
exit 0 if $! == 3;
while (open(my $stat, "<", "/proc/$pid/stat")) {
  my $line = <$stat>;
  exit 0 if !defined $line || $line =~ /\) [ZXx] /;
  close $stat;
  select(undef, undef, undef, $interval);
}
'
command -v perl >/dev/null 2>&1 && exec perl -e "$waiter" "$pid" "$interval"
# A pipe whose write end we hold ourselves never delivers data: `read -t`
# on it is a sleep without forking sleep(1).
exec {tick}<> <(:)
while read -r stat 2>/dev/null <"/proc/$pid/stat"; do
  rest="${stat##*) }"
  case "${rest%% *}" in Z | X | x) exit 0 ;; esac
  read -r -t "$interval" -u "$tick" _
done
exit 0
