#!/usr/bin/env bash
# Let `ansible-test --venv` bootstrap pip offline: it wants a get-pip script from a
# host this machine cannot reach. We cache the pip wheel it pins and a stand-in script.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${1:?usage: setup-ansible-test.sh PYTHON}"
pip_version="$("$python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
import sys
print(get_venv_packages(NativePythonConfig(version="%d.%d" % sys.version_info[:2], path=sys.executable))["pip"])
PY
)"
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
if ! ls "$cache"/pip-"$pip_version"-*.whl >/dev/null 2>&1; then
  "$python" -m pip download --quiet --no-deps --dest "$cache" "pip==$pip_version"
fi
cp "$here/get_pip_offline.py" "$cache/get_pip_${pip_version//./_}.py"
echo "ansible-test pip $pip_version bootstrap cached in $cache"
