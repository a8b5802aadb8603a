"""Nudge from Python, checked against the CLI: synthetic data (nudge synth), a random 80/20
split, iALS fitted and evaluated here and by `nudge eval` on the same split files; the
metrics must agree. Also times the fit and a batch of recommendations.

    PYTHONPATH=build/release/python python3 examples/python_quickstart.py \
        --cli build/release/tools/nudge/nudge [--interactions 1000000 --users 6000 --items 3700]
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

import nudge

WEIGHTS = {"view": 1, "click": 2, "like": 3, "cart": 4, "purchase": 8, "rating": 1}  # Nudge's defaults

parser = argparse.ArgumentParser()
parser.add_argument("--cli", required=True, help="the nudge executable")
parser.add_argument("--interactions", type=int, default=1000000)
parser.add_argument("--users", type=int, default=6000)
parser.add_argument("--items", type=int, default=3700)
parser.add_argument("--spec", default="ials:factors=64,iterations=15,threads=0")
args = parser.parse_args()

scratch = tempfile.TemporaryDirectory(prefix="nudge-python-")  # removed at exit
work = scratch.name
subprocess.run([args.cli, "-q", "synth", "--users", str(args.users), "--items", str(args.items), "--interactions",
                str(args.interactions), "--seed", "42", "--out", work], check=True, stdout=subprocess.DEVNULL)

# Each (user, item) once, weighted as Nudge weighs event types, then a seeded 80/20 split.
pairs = {}
with open(os.path.join(work, "interactions.csv")) as f:
    for row in csv.DictReader(f):
        key = (row["user_id"], row["item_id"])
        pairs[key] = pairs.get(key, 0.0) + WEIGHTS.get(row["type"], 1) * float(row["value"])
keys = list(pairs)
rng = np.random.default_rng(7)
is_test = rng.random(len(keys)) < 0.2
for name, want in (("train", False), ("test", True)):
    with open(os.path.join(work, f"{name}.csv"), "w") as f:
        f.write("user_id,item_id,value\n")
        f.writelines(f"{u},{i},{pairs[(u, i)]}\n" for (u, i), t in zip(keys, is_test) if t == want)

# IDs numbered in order of first appearance, train file first: how `nudge eval --train --test`
# numbers them, so both sides start from the same initial factors.
user_index, item_index = {}, {}
for (u, i), t in sorted(zip(keys, is_test), key=lambda kt: kt[1]):
    user_index.setdefault(u, len(user_index))
    item_index.setdefault(i, len(item_index))


def matrix(want_test):
    rows = [(user_index[u], item_index[i], pairs[(u, i)]) for (u, i), t in zip(keys, is_test) if t == want_test]
    r, c, v = zip(*rows)
    return sp.csr_matrix((np.array(v, dtype=np.float32), (r, c)), shape=(len(user_index), len(item_index)))


train, test = matrix(False), matrix(True)
kind, params = args.spec.split(":", 1)
model = nudge.Model(kind, **dict(p.split("=") for p in params.split(",")))
start = time.perf_counter()
model.fit(train)
fit_seconds = time.perf_counter() - start
ours = nudge.evaluate(model, train, test, K=[10, 20])
ours_sampled = nudge.evaluate(model, train, test, K=10, protocol="sampled", negatives=100)


def cli_eval(*flags):
    subprocess.run([args.cli, "-q", "eval", "--train", os.path.join(work, "train.csv"), "--test",
                    os.path.join(work, "test.csv"), "-m", args.spec, *flags, "--json",
                    os.path.join(work, "eval.json")], check=True, stdout=subprocess.DEVNULL)
    return json.load(open(os.path.join(work, "eval.json")))[0]


cli = cli_eval("-k", "10", "-k", "20")
cli_sampled = cli_eval("-k", "10", "--protocol", "sampled")

print(f"{train.nnz + test.nnz} interactions, {train.shape[0]} users x {train.shape[1]} items")
print(f"{'metric':<24}{'python':>10}{'CLI':>10}")
worst = 0.0
for name in ("precision@10", "recall@10", "ndcg@10", "ndcg@20", "map@10", "auc"):
    print(f"{name:<24}{ours[name]:>10.4f}{cli['metrics'][name]:>10.4f}")
    worst = max(worst, abs(ours[name] - cli["metrics"][name]))
for name in ("hit_rate@10", "ndcg@10"):
    print(f"{name + ' (sampled)':<24}{ours_sampled[name]:>10.4f}{cli_sampled['metrics'][name]:>10.4f}")
    worst = max(worst, abs(ours_sampled[name] - cli_sampled["metrics"][name]))
print(f"fit: python {fit_seconds:.2f} s, CLI {cli['fit_seconds']:.2f} s")

batch = np.arange(10000) % train.shape[0]  # 10,000 requests (users repeat when there are fewer)
start = time.perf_counter()
ids, scores = model.recommend(batch, train[batch], N=10)
seconds = time.perf_counter() - start
print(f"recommend top-10 for {len(batch)} users: {seconds:.3f} s ({len(batch) / seconds:,.0f} users/s)")
scratch.cleanup()
if worst > 1e-4:
    sys.exit(f"python and CLI metrics differ by {worst}")
