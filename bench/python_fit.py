"""What a Python fit costs on top of the model's own training: fit times of models whose
training is cheap next to taking the matrix in, on a canonical float32 CSR matrix (trained on
in place) and on the same matrix with one row out of order (copied through the event log).

    PYTHONPATH=build/release/python /usr/bin/python3 bench/python_fit.py

Shape: 6,000 users x 3,700 items, ~980k interactions (MovieLens-1M's size), seeded; best of 5."""
import time

import numpy as np
import scipy.sparse as sp

import nudge


def matrix(users=6000, items=3700, events=1_000_000, seed=1):
    rng = np.random.default_rng(seed)
    m = sp.csr_matrix((np.ones(events, dtype=np.float32), (rng.integers(0, users, events),
                                                           rng.integers(0, items, events))),
                      shape=(users, items), dtype=np.float32)
    m.sum_duplicates()
    m.indices, m.indptr = m.indices.astype(np.int32), m.indptr.astype(np.int32)
    return m


def best_of(make, m, runs=5):
    times = []
    for _ in range(runs):
        model = make()
        start = time.perf_counter()
        model.fit(m)
        times.append(time.perf_counter() - start)
    return min(times), model.trained_on_borrowed_arrays


def main():
    m = matrix()
    unsorted = m.copy()
    first = slice(unsorted.indptr[0], unsorted.indptr[1])
    unsorted.indices[first] = unsorted.indices[first][::-1].copy()
    unsorted.data[first] = unsorted.data[first][::-1].copy()
    print(f"{m.nnz} interactions, {m.shape[0]} users x {m.shape[1]} items")
    print(f"{'model':32} {'in place':>10} {'copied':>10}")
    for name, make in [("popularity", lambda: nudge.Model("popularity")),
                       ("ials, 1 iteration, 32 factors", lambda: nudge.Model("ials", iterations=1, factors=32)),
                       ("CosineRecommender (K=20)", lambda: nudge.CosineRecommender())]:
        in_place, borrowed = best_of(make, m)
        copied, copied_borrowed = best_of(make, unsorted)
        assert borrowed and not copied_borrowed
        print(f"{name:32} {in_place:9.3f}s {copied:9.3f}s")


if __name__ == "__main__":
    main()
