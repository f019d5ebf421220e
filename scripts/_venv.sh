# shellcheck shell=bash
# Sourced by scripts/test and scripts/demo: make sure .venv exists, is Python >= 3.11,
# and has airel installed editable with the dev and demo extras.
#
# The (slow) pip install only runs when pyproject.toml is newer than the stamp file
# .venv/.airel-installed, so repeat runs cost a fraction of a second.
# Honours PYTHON (default: python3) for the interpreter that creates the venv.

set -euo pipefail

AIREL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AIREL_VENV="$AIREL_ROOT/.venv"
_airel_stamp="$AIREL_VENV/.airel-installed"
_airel_python="${PYTHON:-python3}"

_airel_die() {
    echo "airel: error: $*" >&2
    exit 1
}

# _airel_check_python PYTHON HINT: fail loudly unless PYTHON runs and is >= 3.11.
_airel_check_python() {
    local py=$1 hint=$2 version
    version="$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)" ||
        _airel_die "cannot run '$py'; airel needs Python >= 3.11 ($hint)"
    "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' ||
        _airel_die "airel needs Python >= 3.11, but '$py' is Python $version ($hint)"
}

if [[ ! -x "$AIREL_VENV/bin/python" ]]; then
    command -v "$_airel_python" >/dev/null 2>&1 ||
        _airel_die "'$_airel_python' not found; airel needs Python >= 3.11 (set PYTHON=...)"
    _airel_check_python "$_airel_python" "set PYTHON=/path/to/python3.11"
    echo "airel: creating virtualenv in .venv with $("$_airel_python" --version 2>&1)" >&2
    "$_airel_python" -m venv "$AIREL_VENV" ||
        _airel_die "'$_airel_python -m venv' failed (on Debian/Ubuntu: apt-get install python3-venv)"
    rm -f "$_airel_stamp"
fi
_airel_check_python "$AIREL_VENV/bin/python" "remove the old venv: rm -rf .venv"

if [[ ! -f "$_airel_stamp" || "$AIREL_ROOT/pyproject.toml" -nt "$_airel_stamp" ]]; then
    echo "airel: installing airel[dev,demo,spark] into .venv (pyproject.toml changed or first run)..." >&2
    export PIP_DISABLE_PIP_VERSION_CHECK=1
    "$AIREL_VENV/bin/python" -m pip install --quiet --upgrade pip ||
        _airel_die "pip upgrade failed"
    "$AIREL_VENV/bin/python" -m pip install --quiet -e "${AIREL_ROOT}[dev,demo,spark]" ||
        _airel_die "pip install -e '.[dev,demo,spark]' failed"
    touch "$_airel_stamp"
fi

# Make the venv's tools (airel, pytest, ruff, ...) win on PATH for everything we run.
export VIRTUAL_ENV="$AIREL_VENV"
export PATH="$AIREL_VENV/bin:$PATH"
unset _airel_stamp _airel_python
