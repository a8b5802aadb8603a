#!/usr/bin/env bash
# `pip install` of the package, as a user does it, offline: a wheel built from the repository
# (setup.py + pyproject.toml, the module from the configured tree NUDGE_CMAKE_BUILD_DIR so the
# library is not compiled twice), installed into a fresh venv that sees Debian's numpy and
# scipy, imported from another directory and used for a fit. Run by ctest (python_wheel).
#   python/tests/wheel_install.sh <repository> <configured cmake tree>
set -euo pipefail
root=$1
export NUDGE_CMAKE_BUILD_DIR=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 -m venv --system-site-packages "$work/venv"
# --no-index: no network; --no-build-isolation: setuptools and wheel from Debian.
"$work/venv/bin/pip" wheel --quiet --no-index --no-build-isolation --no-deps -w "$work/wheels" "$root"
wheel=$(ls "$work"/wheels/nudge-*.whl)
"$work/venv/bin/pip" install --quiet --no-index "$wheel"
cd "$work"
env -u PYTHONPATH "$work/venv/bin/python" - "$work" <<'PY'
import sys

import numpy as np
import scipy.sparse as sp

import nudge

assert nudge.__file__.startswith(sys.argv[1] + "/venv/"), nudge.__file__  # the installed copy
rng = np.random.default_rng(0)
rows = np.repeat(np.arange(60), 8)
cols = (rows % 3) + 3 * rng.integers(0, 20, rows.size)  # user u likes items of group u % 3
m = sp.csr_matrix((np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(60, 60))
model = nudge.AlternatingLeastSquares(factors=8, alpha=4.0, regularization=1.0, iterations=10, random_state=1).fit(m)
ids, _ = model.recommend(np.arange(60), m, N=5)
share = np.mean(ids % 3 == (np.arange(60) % 3)[:, None])
assert share > 0.9, share
print(f"installed {nudge.__file__}: in-group share of the top 5 {share:.2f}")
PY
