#!/usr/bin/env bash
# `python3 -m venv` needs Debian's python3.X-venv package (ensurepip); a fresh Debian has Python without it.
# Installed only where it is missing, and only for a Debian Python (a pyenv or python.org build has its own).
set -euo pipefail
python="${1:-python3}"
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
"$python" -m venv "$probe/venv" >/dev/null 2>&1 && exit 0  # Debian's Python says what is missing only here
case "$(command -v "$python")" in
  /usr/bin/*) ;;
  *) echo "$python has no ensurepip (venv cannot install pip) and is not Debian's: install its venv module" >&2
     exit 1 ;;
esac
package="python$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv"
echo "installing Debian package: $package"
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends "$package" >/dev/null
