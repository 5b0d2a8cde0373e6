# Copyright: psbridge contributors
# MIT License (see the LICENSE file at the root of the psbridge repository)
"""Let `ansible-test sanity` build its virtual environments without downloading pip's bootstrap script.

On first use, ansible-test bootstraps pip into each virtual environment it makes with a `get-pip.py` that it
downloads from a host that is not a package registry, and caches as `~/.ansible/test/cache/get_pip_<version>.py`
(ansible/ansible#77304; the cache path and the download are in ansible-test's
`_util/target/setup/requirements.py`, function `bootstrap`). Where that host cannot be reached the sanity run
stops at "Download failed". This script writes a stand-in at that cache path: it bootstraps pip with the
standard library's `ensurepip`, then installs the pip version ansible-test asked for from the package index
(pip's ordinary configuration), so nothing comes from anywhere but the package index.

Run it with the Python that runs ansible-test, before the first sanity run:

    python ansible_collections/psbridge/hybrid/tests/setup_sanity.py            # the pip version ansible-test uses
    python ansible_collections/psbridge/hybrid/tests/setup_sanity.py --pip-version 24.2

An existing cache file is left alone unless it is one of ours (a genuine get-pip.py, downloaded earlier, works
too). The written file is a plain Python script; ansible-test runs it with the arguments of get-pip.py: pip's
install options and packages, plus `--no-setuptools` and `--no-wheel`.
"""

from __future__ import annotations

import argparse
import os
import sys

MARKER = "# psbridge get-pip stand-in"

STAND_IN = '''\
{marker}: bootstrap pip with ensurepip, then install from the package index (ansible/ansible#77304).
"""Stand-in for get-pip.py: takes its arguments (pip install options and packages, --no-setuptools, --no-wheel)."""

import os
import subprocess
import sys


def main():
    """Bootstrap pip with ensurepip, then run pip install with the arguments given and the caller's environment."""
    args = sys.argv[1:]
    drop_setuptools = "--no-setuptools" in args
    args = [arg for arg in args if arg not in ("--no-setuptools", "--no-wheel")]
    # ensurepip runs in a child process: it deletes PIP_* from its own environment and sets
    # PIP_CONFIG_FILE=/dev/null there, which must not reach the install below (it would drop the index settings).
    env = dict(os.environ)
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], env=dict(env))
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args, env=env)
    if drop_setuptools:  # ensurepip of Python < 3.12 installs setuptools too; get-pip.py would not have
        subprocess.check_call([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", "setuptools"], env=env)


if __name__ == "__main__":
    main()
'''


def default_pip_version():
    """The pip version ansible-test bootstraps into its virtual environments (ansible-test's own table)."""
    try:
        from ansible_test._internal.python_requirements import get_venv_packages  # pylint: disable=import-error
    except ImportError:
        return None

    class _Python:  # get_venv_packages reads only the version
        version = "%d.%d" % sys.version_info[:2]

    return get_venv_packages(_Python())["pip"]


def cache_path(pip_version):
    """Where ansible-test looks for the bootstrap script of this pip version."""
    name = "get_pip_%s.py" % pip_version.replace(".", "_")
    return os.path.expanduser(os.path.join("~", ".ansible", "test", "cache", name))


def write_stand_in(pip_version):
    """Write the stand-in unless a bootstrap script other than ours is there already; return (path, written)."""
    path = cache_path(pip_version)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as existing:
            if not existing.read().startswith(MARKER):
                return path, False
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temp = path + ".psbridge-tmp"
    with open(temp, "w", encoding="utf-8") as out:
        out.write(STAND_IN.format(marker=MARKER))
    os.replace(temp, path)
    return path, True


def main():
    """Command line: write the stand-in for the pip version given, else for ansible-test's own."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pip-version", help="pip version to write the stand-in for (default: ansible-test's)")
    options = parser.parse_args()
    pip_version = options.pip_version or default_pip_version()
    if not pip_version:
        parser.error("ansible-test is not importable from this Python: give --pip-version")
    path, written = write_stand_in(pip_version)
    print("%s %s" % ("wrote" if written else "kept the existing", path))


if __name__ == "__main__":
    main()
