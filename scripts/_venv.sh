# shellcheck shell=bash
# Sourced by scripts/test and scripts/demo: make sure .venv exists, is Python >= 3.11,
# and has airel installed editable with the extras in AIREL_EXTRAS (set by the caller:
# scripts/demo uses "demo", scripts/test "dev,demo,spark"; default "dev,demo,spark").
#
# Each install leaves a stamp file .venv/.airel-installed.<extras> (e.g. .airel-installed.demo,
# .airel-installed.dev-demo-spark). The (slow) pip install only runs when no stamp for the
# same or a larger set of extras is newer than pyproject.toml, so repeat runs cost a fraction
# of a second and scripts/demo after scripts/test installs nothing.
# Honours PYTHON (default: python3) for the interpreter that creates the venv.

set -euo pipefail

AIREL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AIREL_VENV="$AIREL_ROOT/.venv"
_airel_extras="${AIREL_EXTRAS:-dev,demo,spark}"
[[ "$_airel_extras" =~ ^[a-z0-9]+(,[a-z0-9]+)*$ ]] ||
    { echo "airel: error: AIREL_EXTRAS must be a comma-separated list, got '$_airel_extras'" >&2; exit 1; }
_airel_stamp="$AIREL_VENV/.airel-installed.${_airel_extras//,/-}"
_airel_python="${PYTHON:-python3}"

_airel_die() {
    echo "airel: error: $*" >&2
    exit 1
}

# _airel_installed: true if a stamp for these extras, or a superset of them, is newer than
# pyproject.toml (a stamp older than pyproject.toml means its install may be out of date).
_airel_installed() {
    local stamp have want
    for stamp in "$AIREL_VENV"/.airel-installed.*; do
        [[ -f "$stamp" && ! "$AIREL_ROOT/pyproject.toml" -nt "$stamp" ]] || continue
        have=",${stamp##*/.airel-installed.}"
        have="${have//-/,},"
        for want in ${_airel_extras//,/ }; do
            [[ "$have" == *",$want,"* ]] || continue 2
        done
        return 0
    done
    return 1
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
    rm -f "$AIREL_VENV"/.airel-installed*
fi
_airel_check_python "$AIREL_VENV/bin/python" "remove the old venv: rm -rf .venv"

if ! _airel_installed; then
    echo "airel: installing airel[$_airel_extras] into .venv (pyproject.toml changed or first run)..." >&2
    export PIP_DISABLE_PIP_VERSION_CHECK=1
    "$AIREL_VENV/bin/python" -m pip install --quiet --upgrade pip ||
        _airel_die "pip upgrade failed"
    "$AIREL_VENV/bin/python" -m pip install --quiet -e "${AIREL_ROOT}[$_airel_extras]" ||
        _airel_die "pip install -e '.[$_airel_extras]' failed"
    rm -f "$AIREL_VENV/.airel-installed" # the single stamp of earlier versions of this script
    touch "$_airel_stamp"
fi

# Make the venv's tools (airel, pytest, ruff, ...) win on PATH for everything we run.
export VIRTUAL_ENV="$AIREL_VENV"
export PATH="$AIREL_VENV/bin:$PATH"
unset _airel_stamp _airel_python _airel_extras
unset -f _airel_installed _airel_check_python _airel_die
