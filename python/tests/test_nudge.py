"""The Python package: fit/recommend on planted structure, parity and model files shared with
the CLI (NUDGE_CLI, set by ctest), error messages, and the GIL released while fitting."""
import os
import subprocess
import threading
import time

import numpy as np
import pytest
import scipy.sparse as sp

import nudge

CLI = os.environ.get("NUDGE_CLI")
GROUPS = 5


def planted(users=300, items=200, per_user=12, seed=1):
    """Users of group g (u % 5) interact only with items of group g (i % 5)."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for u in range(users):
        group_items = np.arange(u % GROUPS, items, GROUPS)
        for i in rng.choice(group_items, per_user, replace=False):
            rows.append(u)
            cols.append(i)
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(users, items))


def in_group_share(user_ids, item_ids):
    return np.mean([[i % GROUPS == u % GROUPS for i in row] for u, row in zip(user_ids, item_ids)])


def test_als_learns_the_planted_groups_and_beats_popularity():
    m = planted()
    als = nudge.AlternatingLeastSquares(factors=16, iterations=10, num_threads=1).fit(m)
    users = np.arange(m.shape[0])
    ids, scores = als.recommend(users, m[users], N=10)
    assert ids.shape == (300, 10) and scores.shape == (300, 10)
    assert ids.dtype == np.int32 and scores.dtype == np.float32
    assert in_group_share(users, ids) > 0.9
    assert all(np.all(np.diff(row) <= 0) for row in scores)  # best first
    for u in (0, 7):  # seen items are filtered
        assert not set(ids[u]) & set(m[u].indices)
    pop = nudge.Popularity().fit(m)
    ids_pop, _ = pop.recommend(users, m[users], N=10)
    assert in_group_share(users, ids) > in_group_share(users, ids_pop) + 0.5
    # One user: 1-D arrays, the same as that user's batch row.
    one_ids, one_scores = als.recommend(3, m[3], N=10)
    np.testing.assert_array_equal(one_ids, ids[3])
    np.testing.assert_allclose(one_scores, scores[3], rtol=1e-6)


def test_a_canonical_float32_matrix_is_trained_on_in_place_and_left_as_it_was():
    m = planted()
    assert m.data.dtype == np.float32 and m.indices.dtype == np.int32 and m.has_canonical_format
    data, indices, indptr = m.data.copy(), m.indices.copy(), m.indptr.copy()
    users = np.arange(m.shape[0])
    for kind in ["ials", "bpr", "itemknn", "ease", "popularity", "svd", "twotower"]:
        model = nudge.Model(kind).fit(m)
        assert model.trained_on_borrowed_arrays, kind
    np.testing.assert_array_equal(m.data, data)
    np.testing.assert_array_equal(m.indices, indices)
    np.testing.assert_array_equal(m.indptr, indptr)

    in_place = nudge.Model("ials", factors=8, iterations=3, threads=1).fit(m)
    expected = in_place.score(users)
    # Rows with their columns out of order and an entry given in two parts are copied and
    # sorted, the parts summed: the same model.
    messy_data, messy_indices, messy_indptr = [], [], [0]
    for u in range(m.shape[0]):
        cols, vals = list(m.indices[m.indptr[u]:m.indptr[u + 1]][::-1]), list(m.data[m.indptr[u]:m.indptr[u + 1]][::-1])
        if u == 0:
            cols, vals = cols + [cols[0]], vals[:1] + vals[1:] + [0.0]
            vals[0], vals[-1] = 0.25 * vals[0], 0.75 * vals[0]
        messy_indices += cols
        messy_data += vals
        messy_indptr.append(len(messy_indices))
    messy = sp.csr_matrix((np.array(messy_data, dtype=np.float32), np.array(messy_indices, dtype=np.int32),
                           np.array(messy_indptr, dtype=np.int32)), shape=m.shape)
    assert not messy.has_canonical_format
    copied = nudge.Model("ials", factors=8, iterations=3, threads=1).fit(messy)
    assert not copied.trained_on_borrowed_arrays
    np.testing.assert_allclose(copied.score(users), expected, rtol=1e-5, atol=1e-6)

    # The model keeps its own rows: changing the matrix after fit changes nothing.
    m.data[:] = 7.0
    np.testing.assert_array_equal(in_place.score(users), expected)
    ids, _ = in_place.recommend(0, N=5)
    assert not set(ids) & set(indices[indptr[0]:indptr[1]])


def test_every_kind_fits_and_answers_by_name():
    m = planted(users=100, items=100, per_user=8)
    for model in (nudge.Model("ease", regularization=10.0), nudge.ItemItemRecommender(K=10),
                  nudge.BayesianPersonalizedRanking(factors=8, learning_rate=0.05, iterations=200, num_threads=1),
                  nudge.Model("fusion", models="ials+ease", **{"ials.factors": 8})):
        model.fit(m)
        ids, _ = model.recommend(np.arange(100), m, N=5)
        assert in_group_share(np.arange(100), ids) > 0.8, model.spec


def test_sasrec_learns_what_comes_next_from_sequences(tmp_path):
    # 40 items in a cycle: after item i comes i + 1. Each user walks part of it from a random
    # start, so the order is the only signal (every item is about as popular).
    rng = np.random.default_rng(3)
    sequences = []
    for _ in range(300):
        start = int(rng.integers(40))
        sequences.append([(start + t) % 40 for t in range(int(rng.integers(5, 12)))])
    model = nudge.Model("sasrec", factors=16, blocks=1, max_length=10, epochs=30, learning_rate=0.01,
                        validation_users=0, num_threads=1).fit_sequences(sequences)
    ids, _ = model.recommend(np.arange(300), N=1)
    expected = np.array([(s[-1] + 1) % 40 for s in sequences])
    assert (ids[:, 0] == expected).mean() > 0.9
    # A new history, oldest first: the next item of its newest.
    assert int(np.argmax(model.score_history([7, 8, 9]))) == 10
    model.save(tmp_path / "s.nudge")
    loaded = nudge.load(tmp_path / "s.nudge")
    np.testing.assert_array_equal(loaded.score_history([3, 4]), model.score_history([3, 4]))
    with pytest.raises(ValueError, match="negative item index"):
        nudge.Model("sasrec").fit_sequences([[1, -2]])


def test_a_new_user_is_folded_in_from_their_row():
    m = planted()
    als = nudge.AlternatingLeastSquares(factors=16, iterations=10, num_threads=1).fit(m)
    new_row = sp.csr_matrix((np.ones(4, dtype=np.float32), ([0, 0, 0, 0], [2, 7, 12, 17])), shape=(1, 200))
    ids, _ = als.recommend(1000, new_row, N=10)  # not a training user: folded in from the row
    assert np.mean(ids % GROUPS == 2) > 0.9
    again, _ = als.recommend(4, new_row, N=10, recalculate_user=True)  # a known user, recomputed
    np.testing.assert_array_equal(again, ids)


def test_score_is_the_matrix_recommend_ranks():
    m = planted()
    als = nudge.AlternatingLeastSquares(factors=8, iterations=5, num_threads=2).fit(m)
    scores = als.score(np.arange(40))
    assert scores.shape == (40, 200) and scores.dtype == np.float32
    ids, top = als.recommend(np.arange(40), N=5, filter_already_liked_items=False)
    np.testing.assert_array_equal(np.take_along_axis(scores, ids, axis=1), top)
    assert np.all(top[:, 0] == scores.max(axis=1))
    with pytest.raises(ValueError, match=r"userid\[1\]: 300 is not a training user \(0..299\)"):
        als.score([0, 300])


def test_similar_items_share_the_group():
    m = planted()
    als = nudge.AlternatingLeastSquares(factors=16, iterations=10, num_threads=1).fit(m)
    ids, scores = als.similar_items(11, N=10)
    assert ids[0] == 11 and len(ids) == 10  # implicit's class: the item itself first
    assert np.mean(ids % GROUPS == 11 % GROUPS) > 0.9
    own_ids, _ = nudge.Model("ials", factors=16, iterations=10, threads=1).fit(m).similar_items(11, N=10)
    assert 11 not in own_ids and np.mean(own_ids % GROUPS == 11 % GROUPS) > 0.9  # Nudge's: neighbours only


def test_save_and_load_round_trip(tmp_path):
    m = planted()
    als = nudge.AlternatingLeastSquares(factors=8, iterations=5, num_threads=1).fit(m)
    als.save(tmp_path / "m.nudge")
    loaded = nudge.load(tmp_path / "m.nudge")
    assert loaded.spec == als.spec
    assert loaded.item_ids[:3] == ["0", "1", "2"]
    a = als.recommend(np.arange(50), m[:50], N=10)
    b = loaded.recommend(np.arange(50), m[:50], N=10)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_evaluate_gives_the_full_ranking_metrics():
    m = planted(per_user=15).tolil()
    train, test = m.copy(), sp.lil_matrix(m.shape, dtype=np.float32)
    rng = np.random.default_rng(5)
    for u in range(m.shape[0]):  # hold out three random items of each user
        for i in rng.choice(m.rows[u], 3, replace=False):
            train[u, i] = 0
            test[u, i] = 1
    train, test = train.tocsr(), test.tocsr()
    train.eliminate_zeros()
    als = nudge.AlternatingLeastSquares(factors=16, iterations=10, num_threads=1).fit(train)
    pop = nudge.Popularity().fit(train)
    a = nudge.evaluate(als, train, test, K=[5, 10])
    p = nudge.evaluate(pop, train, test, K=10)
    assert {"ndcg@5", "ndcg@10", "precision@10", "recall@10", "map@10", "hit_rate@10", "auc"} <= set(a)
    assert a["ndcg@10"] > p["ndcg@10"] + 0.1


def test_evaluate_runs_the_sampled_and_rating_protocols():
    m = planted(per_user=15)
    train, test = m.copy().tolil(), sp.lil_matrix(m.shape, dtype=np.float32)
    for u in range(m.shape[0]):  # hold out each user's first item
        i = m[u].indices[0]
        train[u, i] = 0
        test[u, i] = 1
    train, test = train.tocsr(), test.tocsr()
    train.eliminate_zeros()
    als = nudge.AlternatingLeastSquares(factors=16, iterations=10, num_threads=1).fit(train)
    sampled = nudge.evaluate(als, train, test, K=10, protocol="sampled", negatives=50)
    pop = nudge.evaluate(nudge.Popularity().fit(train), train, test, K=10, protocol="sampled", negatives=50)
    # The held-out item among 50 negatives, a fifth of them from its group: the group's share
    # of the top 10 decides, which iALS knows and popularity does not.
    assert sampled["hit_rate@10"] > pop["hit_rate@10"] + 0.2
    assert nudge.evaluate(als, train, test, K=10, protocol="sampled", negatives=50) == sampled  # seeded

    # Ratings: 5 within a user's group, 1 outside, each user rating 10 in-group and 10 other items.
    rng = np.random.default_rng(2)
    rows, cols, vals = [], [], []
    for u in range(200):
        same = rng.choice(np.arange(u % GROUPS, 100, GROUPS), 10, replace=False)
        other = rng.choice(np.setdiff1d(np.arange(100), np.arange(u % GROUPS, 100, GROUPS)), 10, replace=False)
        for i, r in [(i, 5.0) for i in same] + [(i, 1.0) for i in other]:
            rows.append(u)
            cols.append(i)
            vals.append(r)
    ratings = sp.csr_matrix((np.array(vals, dtype=np.float32), (rows, cols)), shape=(200, 100))
    fit_part, test_part = ratings.copy().tolil(), sp.lil_matrix(ratings.shape, dtype=np.float32)
    for u in range(200):
        for i in ratings[u].indices[:2]:
            test_part[u, i] = ratings[u, i]
            fit_part[u, i] = 0
    fit_part, test_part = fit_part.tocsr(), test_part.tocsr()
    fit_part.eliminate_zeros()
    svd = nudge.Model("svd", factors=4, epochs=200, learning_rate=0.02, seed=1).fit(fit_part)
    rating = nudge.evaluate(svd, fit_part, test_part, protocol="rating")
    mean = fit_part.data.mean()
    mean_rmse = np.sqrt(np.mean((test_part.data - mean) ** 2))
    assert rating["rmse"] < 0.7 * mean_rmse
    assert rating["mae"] <= rating["rmse"]
    with pytest.raises(ValueError, match="protocol: expected full, sampled or rating, got 'bogus'"):
        nudge.evaluate(als, train, test, protocol="bogus")
    with pytest.raises(ValueError, match="negatives: must be from 1 to the number of items - 1"):
        nudge.evaluate(als, train, test, protocol="sampled", negatives=0)


@pytest.mark.skipif(not CLI, reason="NUDGE_CLI is not set (ctest sets it)")
def test_export_onnx_writes_what_the_cli_writes(tmp_path):
    m = planted()
    als = nudge.AlternatingLeastSquares(factors=8, iterations=3, num_threads=1).fit(m)
    als.save(tmp_path / "m.nudge")
    for graph, int8, top_k in (("user", False, 0), ("history", True, 5)):
        als.export_onnx(tmp_path / "py.onnx", graph=graph, int8=int8, top_k=top_k)
        flags = ["--graph", graph, "--top-k", str(top_k)] + (["--int8"] if int8 else [])
        subprocess.run([CLI, "-q", "export", "--format", "onnx", "--model-file", str(tmp_path / "m.nudge"), "-o",
                        str(tmp_path / "cli.onnx")] + flags, check=True, stdout=subprocess.DEVNULL)
        assert (tmp_path / "py.onnx").read_bytes() == (tmp_path / "cli.onnx").read_bytes()
    with pytest.raises(ValueError, match="graph: expected user or history, got 'fold'"):
        als.export_onnx(tmp_path / "x.onnx", graph="fold")
    for bad_k in (-1, 201):
        with pytest.raises(ValueError, match="top_k: must be from 0 to the number of items"):
            als.export_onnx(tmp_path / "x.onnx", top_k=bad_k)
    with pytest.raises(ValueError):  # NaN is no integer
        als.export_onnx(tmp_path / "x.onnx", top_k=float("nan"))
    with pytest.raises(OSError):
        als.export_onnx(tmp_path / "missing" / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
    with pytest.raises(ValueError, match="onnx export: --graph history needs an ials, twotower or sasrec model"):
        nudge.BayesianPersonalizedRanking(factors=4, iterations=1).fit(m).export_onnx(tmp_path / "x.onnx", graph="history")
    with pytest.raises(ValueError, match="itemknn models have no ONNX form"):
        nudge.ItemItemRecommender().fit(m).export_onnx(tmp_path / "x.onnx")


@pytest.mark.skipif(not CLI, reason="NUDGE_CLI is not set (ctest sets it)")
def test_same_data_and_seed_give_the_cli_model_and_files_are_shared(tmp_path):
    m = planted(users=120, items=80)
    coo = m.tocoo()
    with open(tmp_path / "events.csv", "w") as f:
        f.write("user_id,item_id\n")
        for u, i in zip(coo.row, coo.col):
            f.write(f"u{u},i{i}\n")
    spec = "ials:factors=8,iterations=5,threads=1,seed=3"
    subprocess.run([CLI, "-q", "train", "-i", tmp_path / "events.csv", "-m", spec, "-o", tmp_path / "cli.nudge"],
                   check=True)
    cli = nudge.load(tmp_path / "cli.nudge")
    assert cli.spec.startswith("ials:")
    # The same interactions in the CLI's index order (its IDs, in order of first appearance).
    rows = [cli.user_ids.index(f"u{u}") for u in coo.row]
    cols = [cli.item_ids.index(f"i{i}") for i in coo.col]
    ordered = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=m.shape)
    ours = nudge.Model("ials", factors=8, iterations=5, threads=1, seed=3).fit(ordered)
    users = np.arange(120)
    a_ids, a_scores = ours.recommend(users, ordered, N=10)
    b_ids, b_scores = cli.recommend(users, ordered, N=10)
    np.testing.assert_array_equal(a_ids, b_ids)
    np.testing.assert_allclose(a_scores, b_scores, rtol=1e-5)

    # A model saved here answers the CLI, by matrix indices as IDs.
    ours.save(tmp_path / "py.nudge")
    out = subprocess.run([CLI, "recommend", "--model-file", tmp_path / "py.nudge", "-u", "5", "-k", "3"], check=True,
                         capture_output=True, text=True).stdout.split()
    listed = [int(word) for word in out if word.isdigit()][1::2][:3]  # rank, item, rank, item...
    assert listed == list(a_ids[5][:3])


def test_a_damaged_model_file_is_refused(tmp_path):
    m = planted(users=50, items=40, per_user=4)
    nudge.Popularity().fit(m).save(tmp_path / "m.nudge")
    data = bytearray((tmp_path / "m.nudge").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "bad.nudge").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="bad.nudge"):
        nudge.load(tmp_path / "bad.nudge")


def test_bad_input_is_refused_with_a_clear_message():
    m = planted(users=50, items=40, per_user=4)
    with pytest.raises(ValueError, match="factorz"):
        nudge.Model("ials", factorz=3)
    with pytest.raises(ValueError, match="nope"):
        nudge.Model("nope")
    with pytest.raises(ValueError, match="not fitted"):
        nudge.AlternatingLeastSquares().recommend(0)
    with pytest.raises(ValueError, match="scipy.sparse"):
        nudge.Popularity().fit(np.ones((3, 3)))
    bad = m.copy().astype(np.float64)
    bad.data[4] = np.nan
    with pytest.raises(ValueError, match=r"user_items.data\[4\]: must be a finite number >= 0"):
        nudge.Popularity().fit(bad)
    bad.data[4] = -1.0
    with pytest.raises(ValueError, match=r"user_items.data\[4\]"):
        nudge.Popularity().fit(bad)
    with pytest.raises(ValueError, match=r"user_items.indices\[0\]: 99 is not a column of 40"):
        nudge._nudge.Model("popularity").fit(m.indptr, np.r_[99, m.indices[1:]], m.data, 50, 40)
    with pytest.raises(ValueError, match="indptr"):
        nudge._nudge.Model("popularity").fit(m.indptr[:-1], m.indices, m.data, 50, 40)
    with pytest.raises(ValueError, match="no interactions"):
        nudge.Popularity().fit(sp.csr_matrix((5, 5), dtype=np.float32))
    model = nudge.AlternatingLeastSquares(factors=4, iterations=2).fit(m)
    with pytest.raises(ValueError, match="2 rows for 3 users"):
        model.recommend([0, 1, 2], m[:2])
    with pytest.raises(ValueError, match="not a training user"):
        model.recommend(500)
    with pytest.raises(ValueError, match="negative"):
        model.recommend(-1)
    with pytest.raises(IndexError, match="itemid"):
        model.similar_items(40)
    with pytest.raises(OSError, match="missing.nudge"):
        nudge.load("/nonexistent/missing.nudge")
    # float64 and integer weights are accepted (converted), as scipy gives them.
    nudge.Popularity().fit(m.astype(np.float64))
    nudge.Popularity().fit(m.astype(np.int64))


def test_fit_releases_the_gil():
    m = planted(users=3000, items=2000, per_user=40)
    model = nudge.AlternatingLeastSquares(factors=64, iterations=15, num_threads=1)
    span = {}

    def fit():
        span["start"] = time.perf_counter()
        model.fit(m)
        span["end"] = time.perf_counter()

    ticks = []
    t = threading.Thread(target=fit)
    t.start()
    while t.is_alive():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    t.join()
    assert span["end"] - span["start"] > 0.1, "the fit is too short to tell"
    inside = [x for x in ticks if span["start"] + 0.02 < x < span["end"] - 0.02]
    assert len(inside) > 10  # this thread ran while the fit was in C++
