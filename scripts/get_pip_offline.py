"""Stand-in for ansible-test's downloaded get-pip script (its host is unreachable here).

ansible-test runs this as ~/.ansible/test/cache/get_pip_X_Y.py with pip's install
arguments; we run pip from the wheel cached beside it, as get-pip itself would.
"""
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WHEELS = sorted(glob.glob(os.path.join(HERE, "pip-*.whl")))
if not WHEELS:
    sys.exit("no pip wheel next to %s: run scripts/setup-ansible-test.sh" % __file__)
sys.path.insert(0, WHEELS[-1])

from pip._internal.cli.main import main as pip_main  # noqa: E402  pylint: disable=wrong-import-position

ARGS = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
# The pinned pip wheel lies beside this script: no index needs to serve that version.
sys.exit(pip_main(["install", "--upgrade", "--force-reinstall", "--find-links", HERE] + ARGS))
