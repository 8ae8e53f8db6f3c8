#!/bin/bash
# The event writer the runtimes' own hooks run (lib/events/hooks.ts wires it
# in at launch): appends one line to the agent's event log, $MOSAIC_EVENT_LOG.
#
#   event-writer.sh KIND VIA            the payload is the hook's stdin (Claude Code, Codex, Gemini CLI)
#   event-writer.sh KIND VIA -          no payload (Aider, whose stdin is the terminal)
#   event-writer.sh KIND VIA [PROG...] JSON
#                                       the payload is the last argument (a notify program's);
#                                       PROG... is the user's own, called with it too
#
# The line is {"ts":MS,"agent":NAME,"kind":KIND,"via":VIA,"data":PAYLOAD}
# (Gemini CLI's AfterAgent adds "record":RECORD, see below):
# the payload goes in as the runtime wrote it (JSON from its serializer, its
# line breaks, which JSON only has between tokens, made spaces). Readers
# take the reply out of it (lib/events/event-log.ts).
#
# It runs inside the runtime's turn, some runtimes wait for it: it uses bash
# builtins but for cat to read stdin (no Node, no date: $EPOCHREALTIME; a
# stat now and then for rotation, tac and grep for Gemini CLI's reply), never
# writes to the terminal, and always exits 0, even when the log cannot be
# written (the state directory is gone).
exec 2>/dev/null
umask 077

kind=${1:-unknown}
via=${2:-unknown}
shift 2 2>/dev/null || set --
payload=
case $via in
  claude:* | codex:* | gemini:*)
    # The hook's JSON on stdin; never the terminal.
    # cat, not $(</dev/stdin): a runtime's stdin for its hook may be a
    # socket (Node's child pipes are), which /dev/stdin cannot be opened on.
    [ -t 0 ] || payload=$(cat)
    ;;
  *)
    if [ "$#" -gt 0 ] && [ "$1" != - ]; then
      payload=${!#}
      if [ "$#" -gt 1 ]; then
        # The user's own notify program, which ours replaced for this run: it
        # still runs, with the same argument, in the background as Codex runs it.
        ("${@:1:$#-1}" "$payload" </dev/null >/dev/null 2>&1 &)
      fi
    fi
    ;;
esac
# Only when there are any: replacing in a long payload costs a millisecond
# each, and serializers mostly write one line.
case $payload in *$'\r'*) payload=${payload//$'\r'/ } ;; esac
case $payload in *$'\n'*) payload=${payload//$'\n'/ } ;; esac
# Anything but a JSON object or array (an empty stdin) is recorded as null.
case $payload in
  '{'*'}' | '['*']') ;;
  *) payload=null ;;
esac
# Gemini CLI reads a hook's stdout as JSON: an empty object changes nothing.
case $via in gemini:*) printf '{}\n' ;; esac

log=${MOSAIC_EVENT_LOG:-}
[ -n "$log" ] || exit 0

# Gemini CLI 0.61's prompt_response is not the reply as the model gave it (it
# joins the streamed chunks with spaces): the reply is the conversation's
# last record of type "gemini", which its file holds by the time AfterAgent
# runs. It goes in as "record" (tac reads the file from its end, grep stops
# at the first match), and readers take its text over prompt_response.
record=
if [ "$via" = gemini:AfterAgent ]; then
  re='"transcript_path":"([^"\\]+)"'
  if [[ $payload =~ $re ]] && [ -f "${BASH_REMATCH[1]}" ]; then
    record=$(tac -- "${BASH_REMATCH[1]}" | grep -m 1 -F -- '"type":"gemini"')
    record=${record//$'\r'/ }
    case $record in
      '{'*'}') record=",\"record\":$record" ;;
      *) record= ;;
    esac
  fi
fi

now=${EPOCHREALTIME//[.,]/}
line="{\"ts\":${now:0:13},\"agent\":\"${MOSAIC_AGENT_NAME:-}\",\"kind\":\"$kind\",\"via\":\"$via\",\"data\":$payload$record}"

# Bounded like the transcripts: past the limit the log moves to LOG.1 (one
# generation kept). Measuring it forks stat, so one write in 16 does, at
# random: a log overshoots by a few events at most.
if [ $((RANDOM % 16)) -eq 0 ]; then
  size=$(stat -c %s -- "$log" 2>/dev/null) || size=0
  if [ "${size:-0}" -gt "${MOSAIC_EVENT_LOG_MAX_BYTES:-2097152}" ]; then
    mv -f -- "$log" "$log.1"
  fi
fi
# Appended in one go (O_APPEND): writers of one agent run one after the other
# (a runtime runs its hooks in turn), so lines do not interleave.
if ! printf '%s\n' "$line" >>"$log"; then
  mkdir -p -- "${log%/*}" && printf '%s\n' "$line" >>"$log"
fi
exit 0
