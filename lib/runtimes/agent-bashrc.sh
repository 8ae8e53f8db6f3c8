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
