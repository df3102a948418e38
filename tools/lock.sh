#!/usr/bin/env bash
# Refreshes constraints.txt, the exact versions the test command installs: everything that
# requirements-dev.txt pulls in (itself, requirements.txt, and every dependency), resolved afresh
# from today's index in a throw-away venv, then frozen.
#
#     bash tools/lock.sh && python -m pytest      # refresh, then prove the new set passes
#
# Run it with the Python the project's machines use (3.11); commit constraints.txt with the run
# of the suite that passed on it.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
# The same requirements without the old pins (-c), their -r made absolute for the copy.
sed -e '/^-c /d' -e "s|^-r requirements.txt|-r $PWD/requirements.txt|" requirements-dev.txt \
  > "$tmp/requirements-dev.txt"
"$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r "$tmp/requirements-dev.txt"
{
  echo "# Exact versions of everything the test command installs (pip install -r requirements-dev.txt"
  echo "# reads this file through its -c line). Made by tools/lock.sh on Python" \
    "$("$tmp/venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])'); refresh with"
  echo "#     bash tools/lock.sh && python -m pytest"
  # The editable package itself is not pinned; torch's local label (+cpu) names the index's
  # build, not a version pip can match on another index.
  "$tmp/venv/bin/python" -m pip freeze --exclude-editable --disable-pip-version-check \
    | sed -e 's/+cpu$//' | LC_ALL=C sort -f
} > "$tmp/constraints.txt"
mv "$tmp/constraints.txt" constraints.txt
echo "wrote constraints.txt ($(grep -vc '^#' constraints.txt) packages)"
