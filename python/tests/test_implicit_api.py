"""implicit 0.7's model API on Nudge's classes, checked the way implicit's own suite checks it:
a checkerboard with the diagonal held out, batch answers equal to single ones, filters
honoured, pickling, save/load through files and file objects, warnings on non-CSR input, and
implicit's meanings (ALS confidence alpha * weight, similar items starting with the item)."""
import io
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import nudge

N_ITEMS = 50


def checkerboard(n=N_ITEMS):
    """User u likes item i when u + i is even, except item u itself: held out, and the only
    unseen item of u's own parity, so a model that sees the structure ranks it first."""
    rows, cols = [], []
    for u in range(n):
        for i in range(n):
            if (u + i) % 2 == 0 and u != i:
                rows.append(u)
                cols.append(i)
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, n))


def models():
    return [
        # regularization 1: with 0.01, 3 factors can fit each held-out diagonal zero exactly
        nudge.AlternatingLeastSquares(factors=3, regularization=1.0, alpha=2.0, iterations=15, use_cg=False,
                                      random_state=23, num_threads=1),
        nudge.BayesianPersonalizedRanking(factors=3, learning_rate=0.05, iterations=300, random_state=23,
                                          num_threads=1),
        nudge.ItemItemRecommender(K=50),
        nudge.CosineRecommender(K=50),
        nudge.BM25Recommender(K=50, K1=1.2, B=0.75),
        nudge.TFIDFRecommender(K=50),
        nudge.EASE(regularization=10.0, num_threads=1),
    ]


@pytest.fixture(scope="module")
def fitted():
    m = checkerboard()
    return m, [model.fit(m) for model in models()]


def test_the_held_out_diagonal_item_ranks_first_for_every_class(fitted):
    m, all_models = fitted
    for model in all_models:
        for u in range(N_ITEMS):
            ids, scores = model.recommend(u, m[u], N=1)
            assert ids.shape == (1,) and scores.dtype == np.float32
            assert ids[0] == u, f"{model!r}: user {u} got {ids[0]}"


def test_batch_answers_equal_single_ones(fitted):
    m, all_models = fitted
    users = np.arange(N_ITEMS)
    for model in all_models:
        ids, scores = model.recommend(users, m, N=5)
        assert ids.shape == (N_ITEMS, 5)
        for u in (0, 7, 49):
            one_ids, one_scores = model.recommend(u, m[u], N=5)
            np.testing.assert_array_equal(one_ids, ids[u], err_msg=repr(model))
            np.testing.assert_allclose(one_scores, scores[u], rtol=1e-5, atol=1e-6)


def test_filters_and_item_subsets_are_honoured(fitted):
    m, all_models = fitted
    for model in all_models:
        ids, _ = model.recommend(0, m[0], N=10, filter_items=[0, 1, 3])
        assert not {0, 1, 3} & set(ids.tolist()), repr(model)
        ids, _ = model.recommend(0, m[0], N=10, items=[0, 2, 5, 9, 11])
        assert set(ids.tolist()) == {0, 2, 5, 9, 11} and ids[0] == 0 and ids[-1] == 2  # 2 is liked: last
        ids, _ = model.recommend(0, m[0], N=3, items=[2, 4], filter_already_liked_items=False)
        assert sorted(ids.tolist()) == [2, 4]  # N is cut to the candidates
        ids, scores = model.recommend(0, m[0], N=3, items=[1, 2, 4])
        assert ids.tolist() == [1, 2, 4] and scores[1] == scores[2] == -np.inf  # liked: last, as implicit
        ids, _ = model.recommend(0, m[0], N=20, items=[1, 2, 3, 4, 5, 6])  # implicit's test_rank_items
        assert len(ids) == 6 and set(ids[3:].tolist()) == {2, 4, 6}
        ids, _ = model.recommend(np.arange(N_ITEMS), m, items=np.arange(10) * 3)  # its test_rank_items_batch
        assert all(set(row.tolist()) == set(range(0, 30, 3)) for row in ids)
        with pytest.raises(ValueError, match="not both"):
            model.recommend(0, m[0], items=[1], filter_items=[2])
        liked, _ = model.recommend(np.arange(4), m[:4], N=N_ITEMS, filter_already_liked_items=False)
        assert (liked >= 0).all()  # nothing filtered: every item comes back


def test_pickle_and_files_round_trip_fitted_and_unfitted(fitted, tmp_path):
    m, all_models = fitted
    for model in all_models:
        again = pickle.loads(pickle.dumps(model))
        assert type(again) is type(model) and again.spec == model.spec
        np.testing.assert_array_equal(again.recommend(np.arange(10), m[:10])[0], model.recommend(np.arange(10), m[:10])[0])
        buffer = io.BytesIO()
        model.save(buffer)
        buffer.seek(0)
        back = type(model).load(buffer)
        np.testing.assert_array_equal(back.recommend(3, m[3])[0], model.recommend(3, m[3])[0])
        model.save(tmp_path / "m.nudge")
        assert type(model).load(tmp_path / "m.nudge").spec == model.spec
    for model in models():  # not fitted: the parameters survive
        assert not model.fitted
        again = pickle.loads(pickle.dumps(model))
        assert again.spec == model.spec and not again.fitted
        model.save(tmp_path / "u.nudge")
        assert type(model).load(tmp_path / "u.nudge").spec == model.spec
    with pytest.raises(ValueError, match="holds a ials model"):
        nudge.EASE.load(_saved(all_models[0], tmp_path))


def _saved(model, tmp_path):
    path = tmp_path / "als.nudge"
    model.save(path)
    return path


def test_non_csr_input_warns_and_stored_zeros_are_no_interaction():
    m = checkerboard()
    with pytest.warns(nudge.ParameterWarning, match="expected a CSR matrix, got COO"):
        nudge.EASE(regularization=10.0).fit(m.tocoo())
    with pytest.raises(ValueError, match="expected a CSR matrix"):
        nudge.EASE(regularization=10.0).fit(m).recommend(0, m[0].tocsc())
    coo = m.tocoo()  # and (0, 1), not liked (0 + 1 is odd), stored as an explicit 0
    with_zero = sp.csr_matrix((np.r_[coo.data, 0.0].astype(np.float32), (np.r_[coo.row, 0], np.r_[coo.col, 1])),
                              shape=m.shape)
    assert with_zero.nnz == m.nnz + 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # CSR: no warning
        model = nudge.EASE(regularization=10.0).fit(with_zero)
    ids, _ = model.recommend(0, m[0], N=N_ITEMS)
    assert 1 in ids.tolist()  # not counted as seen


def test_similar_items_and_users_start_with_the_query(fitted):
    m, all_models = fitted
    # The checkerboard makes every item of a parity the same vector: ties. Noise separates them.
    rng = np.random.default_rng(4)
    noisy = m.copy()
    noisy.data = (1 + rng.random(noisy.nnz)).astype(np.float32)
    als = nudge.AlternatingLeastSquares(factors=6, alpha=2.0, iterations=10, random_state=1, num_threads=1).fit(noisy)
    bpr = nudge.BayesianPersonalizedRanking(factors=6, learning_rate=0.05, iterations=300, random_state=1,
                                            num_threads=1).fit(noisy)
    for model in (als, bpr):
        ids, scores = model.similar_items(4, N=5)
        assert ids[0] == 4 and scores[0] == pytest.approx(1.0, abs=1e-5), repr(model)
        assert all(i % 2 == 0 for i in ids)
        batch, _ = model.similar_items(np.array([4, 7]), N=5)
        np.testing.assert_array_equal(batch[0], ids)
        assert batch[1][0] == 7
        ids, _ = model.similar_items(4, N=5, filter_items=[4, 6])
        assert not {4, 6} & set(ids.tolist())
        ids, _ = model.similar_items(4, N=3, items=[1, 8, 10])
        assert set(ids.tolist()) <= {1, 8, 10}
        users, scores = model.similar_users(3, N=5)
        assert users[0] == 3 and all(u % 2 == 1 for u in users)
        assert model.similar_users(np.array([3, 8]), N=4)[0].shape == (2, 4)
        assert 3 not in model.similar_users(3, N=5, filter_users=[3])[0].tolist()
    for model in all_models[2:]:
        with pytest.raises(NotImplementedError):
            model.similar_users(0)
    # Item-KNN, as implicit's: the item itself first (its self-similarity tops its row here),
    # then its kept neighbours, all of its parity; batch = single; filters drop it too.
    for model in all_models[2:6]:
        ids, scores = model.similar_items(np.arange(N_ITEMS), N=10)
        assert ids.shape == (N_ITEMS, 10)
        for item in range(N_ITEMS):
            assert ids[item][0] == item and all(i % 2 == item % 2 for i in ids[item]), (repr(model), item)
            assert scores[item][0] >= scores[item][1]
        one_ids, one_scores = model.similar_items(7, N=10)
        np.testing.assert_array_equal(one_ids, ids[7])
        np.testing.assert_allclose(one_scores, scores[7])
        assert 7 not in model.similar_items(7, N=10, filter_items=[7])[0].tolist()
    assert all_models[3].similar_items(7, N=2)[1][0] == pytest.approx(1.0)  # cosine: itself 1
    assert all_models[2].similar_items(7, N=2)[1].tolist() == [24.0, 23.0]  # dot: 24 users, 23 shared
    ids, _ = all_models[6].similar_items(4, N=5)  # EASE: B's diagonal is 0 by construction
    assert 4 not in ids.tolist() and all(i % 2 == 0 for i in ids if i >= 0)


def test_factor_arrays_give_the_scores(fitted):
    m, all_models = fitted
    for model in all_models[:2]:
        users, items = model.user_factors, model.item_factors
        assert users.dtype == np.float32 and users.shape[0] == N_ITEMS and items.shape[0] == N_ITEMS
        np.testing.assert_allclose(users @ items.T, model.score(np.arange(N_ITEMS)), rtol=1e-4, atol=1e-5)
    bpr = all_models[1]
    assert bpr.item_factors.shape[1] == 4 and np.all(bpr.user_factors[:, -1] == 1)  # the bias column
    with pytest.raises(ValueError, match="no factor arrays"):
        all_models[2]._model.item_factors()
    assert all_models[0].to_cpu() is all_models[0]


def test_als_alpha_means_what_it_means_in_implicit():
    """implicit's confidence is alpha * w; Nudge's Model("ials") uses 1 + alpha * w. The class
    fits what Model("ials") fits on w - 1 / alpha, exactly."""
    m = checkerboard()
    m.data[:] = np.arange(m.nnz) % 3 + 1  # weights 1, 2, 3
    ours = nudge.AlternatingLeastSquares(factors=4, alpha=3.0, iterations=5, random_state=7, num_threads=1).fit(m)
    shifted = m.copy()
    shifted.data = shifted.data - np.float32(1 / 3)
    plain = nudge.Model("ials", factors=4, alpha=3.0, iterations=5, cg_steps=3, seed=7, threads=1).fit(shifted)
    np.testing.assert_array_equal(ours.score(np.arange(N_ITEMS)), plain.score(np.arange(N_ITEMS)))
    # recalculate_user folds in with the same confidence: the trained user's row gives a vector
    # scoring like the trained one.
    vector = ours.recalculate_user(5, m[5])
    assert vector.shape == (4,)
    assert np.argmax(vector @ ours.item_factors.T * (m[5].toarray()[0] == 0)) == 5
    with pytest.raises(ValueError, match=r"alpha \* weight = 0.5 < 1"):
        nudge.AlternatingLeastSquares(alpha=0.5).fit(checkerboard())


def test_implicit_parameters_are_accepted_as_implicit_takes_them():
    m = checkerboard()
    for model in (nudge.AlternatingLeastSquares(factors=8.0, iterations=np.int64(2), random_state=None, use_gpu=False,
                                                dtype=np.float32, calculate_training_loss=True),
                  nudge.AlternatingLeastSquares(random_state=np.random.RandomState(3), iterations=2),
                  nudge.BayesianPersonalizedRanking(factors=8, iterations=2, verify_negative_samples=True,
                                                    random_state=np.random.default_rng(1)),
                  nudge.EASE(num_threads=1), nudge.Popularity(num_threads=2), nudge.ItemItemRecommender(K=5.0)):
        model.fit(m, show_progress=False)
        assert model.recommend(0, m[0])[0].shape == (10,)
    with pytest.raises(ValueError, match="factors: expected an integer, got 8.5"):
        nudge.AlternatingLeastSquares(factors=8.5)
    with pytest.raises(ValueError, match="use_gpu"):
        nudge.AlternatingLeastSquares(use_gpu=True)
    with pytest.raises(TypeError, match="callback: expected a function"):
        nudge.AlternatingLeastSquares(iterations=1).fit(m, callback=3)
    with pytest.raises(NotImplementedError, match="recalculate_user"):
        nudge.BayesianPersonalizedRanking(iterations=1).fit(m).recommend(0, m[0], recalculate_user=True)
    with pytest.raises(ValueError, match="protocol='rating'"):
        nudge.evaluate(nudge.EASE().fit(m), m, m, protocol="rating")


def test_fit_callback_hears_every_epoch_and_what_it_raises_ends_the_fit():
    m = checkerboard()
    heard = []
    nudge.AlternatingLeastSquares(factors=3, iterations=4, random_state=1).fit(
        m, callback=lambda epoch, seconds, loss: heard.append((epoch, seconds, loss)))
    assert [e for e, _, _ in heard] == [0, 1, 2, 3]
    assert all(s >= 0 for _, s, _ in heard) and all(loss is None for _, _, loss in heard)  # no loss asked for
    heard.clear()
    # calculate_training_loss: implicit's loss, per unit of confidence (alpha * w observed, 1
    # elsewhere), recomputed here from the final factors; exact solves never raise it.
    als = nudge.AlternatingLeastSquares(factors=3, alpha=2.0, regularization=0.5, iterations=6, use_cg=False,
                                        calculate_training_loss=True, random_state=1, num_threads=1)
    als.fit(m, callback=lambda epoch, seconds, loss: heard.append(loss))
    assert heard == pytest.approx(list(als.epoch_losses)) and len(heard) == 6
    assert all(b <= a + 1e-9 for a, b in zip(heard, heard[1:]))
    x, y = als.user_factors.astype(np.float64), als.item_factors.astype(np.float64)
    observed = m.toarray() > 0
    confidence = np.where(observed, 2.0 * m.toarray(), 1.0)
    error = (confidence * (observed - x @ y.T) ** 2).sum() + 0.5 * ((x ** 2).sum() + (y ** 2).sum())
    assert heard[-1] == pytest.approx(error / confidence.sum(), rel=1e-4)
    heard.clear()
    bpr = nudge.BayesianPersonalizedRanking(factors=3, iterations=5, random_state=1, num_threads=1)
    bpr.fit(m, callback=lambda epoch, seconds, loss: heard.append((epoch, loss)))
    assert [e for e, _ in heard] == [0, 1, 2, 3, 4]
    assert [loss for _, loss in heard] == pytest.approx(list(bpr.epoch_losses))

    def stop_at_second(epoch, seconds, loss):
        if epoch == 1:
            raise KeyboardInterrupt("enough")
        heard.append(epoch)

    heard.clear()
    model = nudge.AlternatingLeastSquares(factors=3, iterations=50, random_state=1)
    with pytest.raises(KeyboardInterrupt, match="enough"):
        model.fit(m, callback=stop_at_second)
    assert heard == [0] and not model.fitted  # training ended at the raise; no half model kept
    model.fit(m)  # and the model still fits afterwards
    assert model.fitted


def test_item_based_models_score_from_the_given_row(fitted):
    m, all_models = fitted
    ease = all_models[-1]
    ids, _ = ease.recommend(0, m[1], N=1)  # user 0 scored from user 1's row, as implicit does:
    assert ids[0] == 1  # user 1's held-out item, not user 0's


def test_als_partial_fit_updates_and_grows_users_and_items():
    m = checkerboard()
    model = nudge.AlternatingLeastSquares(factors=3, regularization=1.0, alpha=2.0, iterations=15, use_cg=False,
                                          random_state=23, num_threads=1).fit(m)
    # A user re-fitted from an odd row now gets odd items; a new user 60 joins from an even row.
    model.partial_fit_users([0, 60], sp.vstack([m[1], m[2]]).tocsr())
    assert model.user_factors.shape == (61, 3)
    ids, _ = model.recommend(0, m[1], N=1)
    assert ids[0] == 1
    ids, _ = model.recommend(60, m[2], N=1)
    assert ids[0] == 2  # the one even item its row lacks
    np.testing.assert_allclose(model.user_factors[0], model.recalculate_user(0, m[1]), rtol=1e-5, atol=1e-6)
    # A new item 50 liked by the even users sits with the even items.
    even_users = sp.csr_matrix((np.ones(31, dtype=np.float32), (np.zeros(31, dtype=int), np.arange(0, 61, 2))),
                               shape=(1, 61))
    model.partial_fit_items([50], even_users)
    assert model.item_factors.shape == (51, 3)
    similar, _ = model.similar_items(50, N=5)
    assert similar[0] == 50 and all(i % 2 == 0 for i in similar[1:])
    # An item re-solved from its own training users lands where training put it.
    users_of_4 = sp.hstack([m.T.tocsr()[4], sp.csr_matrix((1, 11), dtype=np.float32)]).tocsr()  # 61 users now
    again = model.recalculate_item(4, users_of_4)
    assert np.dot(again, model.item_factors[4]) / np.linalg.norm(again) / np.linalg.norm(model.item_factors[4]) > 0.99
    ids, _ = model.similar_items(4, N=3, recalculate_item=True, item_users=users_of_4)
    assert all(i % 2 == 0 for i in ids)
    with pytest.raises(ValueError, match="1 row for every user"):
        model.partial_fit_users([0, 1], m[:1])


def test_implicit_evaluation_functions_give_implicit_figures(fitted):
    """implicit.evaluation's metrics: on the checkerboard each user's held-out item comes first,
    so p@1 is 1 for every class (implicit's own check); on fixed lists, figures worked by hand."""
    from nudge import evaluation
    m, all_models = fitted
    diagonal = sp.identity(N_ITEMS, dtype=np.float32, format="csr")
    for model in all_models:
        assert evaluation.precision_at_k(model, m, diagonal, K=1, show_progress=False) == 1.0, repr(model)
        metrics = evaluation.ranking_metrics_at_k(model, m, diagonal, K=5)
        assert metrics["map"] == metrics["ndcg"] == 1.0 and metrics["precision"] == 1.0
        assert metrics["auc"] == pytest.approx(1.0)

    class Fixed:
        """Recommends fixed lists: user 0 [1, 4, 2], user 1 [5, 0, 3]."""

        def recommend(self, users, user_items, N=10):
            lists = {0: [1, 4, 2], 1: [5, 0, 3]}
            return np.array([lists[u][:N] for u in users]), np.zeros((len(users), N), dtype=np.float32)

    train = sp.csr_matrix((2, 6), dtype=np.float32)
    test = sp.csr_matrix((np.ones(4, dtype=np.float32), ([0, 0, 1, 1], [1, 2, 3, 4])), shape=(2, 6))
    got = evaluation.ranking_metrics_at_k(Fixed(), train, test, K=3)
    # precision: 3 hits over min(3, 2) + min(3, 2); map: (1 + 2/3) / 2 and (1/3) / 2;
    # ndcg: (1 + 1/2) / (1 + 1/log2 3) and (1/2) / (1 + 1/log2 3); auc (4 negatives each):
    # (1 + (2 + 2) / 2 * 3) / 8 and ((1 + 2) / 2 * 2) / 8.
    idcg = 1 + 1 / np.log2(3)
    assert got["precision"] == pytest.approx(0.75)
    assert got["map"] == pytest.approx(((1 + 2 / 3) / 2 + (1 / 3) / 2) / 2)
    assert got["ndcg"] == pytest.approx((1.5 / idcg + 0.5 / idcg) / 2)
    assert got["auc"] == pytest.approx((7 / 8 + 3 / 8) / 2)
    assert evaluation.mean_average_precision_at_k(Fixed(), train, test, K=3) == pytest.approx(got["map"])
    assert evaluation.ndcg_at_k(Fixed(), train, test, K=3) == pytest.approx(got["ndcg"])
    assert evaluation.AUC_at_k(Fixed(), train, test, K=3) == pytest.approx(got["auc"])
    with pytest.raises(ValueError, match="no user has a test item"):
        evaluation.ranking_metrics_at_k(Fixed(), train, train, K=3)


def test_implicit_splits_partition_the_matrix():
    from nudge import evaluation
    rng = np.random.default_rng(2)
    ratings = sp.random(300, 80, density=0.1, format="csr", random_state=3, dtype=np.float32)
    ratings.data = 1 + rng.random(ratings.nnz).astype(np.float32)
    train, test = evaluation.train_test_split(ratings, train_percentage=0.8, random_state=7)
    assert train.shape == test.shape == ratings.shape
    assert train.multiply(test).nnz == 0 and abs((train + test) - ratings).max() == 0
    assert 0.75 < train.nnz / ratings.nnz < 0.85
    again, _ = evaluation.train_test_split(ratings, 0.8, random_state=7)
    assert (again != train).nnz == 0  # seeded
    train, test = evaluation.leave_k_out_split(ratings, K=2, random_state=1)
    counts, held = np.diff(ratings.indptr), np.diff(test.indptr)
    assert np.all(held[counts > 3] == 2) and np.all(held[counts <= 3] == 0)
    assert train.multiply(test).nnz == 0 and abs((train + test) - ratings).max() == 0
    _, some = evaluation.leave_k_out_split(ratings, K=1, train_only_size=0.5, random_state=1)
    with_test = np.count_nonzero(np.diff(some.indptr))
    assert with_test <= 0.5 * np.count_nonzero(counts) + 1 and with_test > 0.3 * np.count_nonzero(counts > 2)
    with pytest.raises(ValueError, match="'K' must be >= 1"):
        evaluation.leave_k_out_split(ratings, K=0)


def test_recalculated_users_match_the_trained_ones_and_an_empty_item_is_like_nothing(fitted):
    """Two more of implicit's suite's checks: recalculate_user (batch and single) gives the
    trained user's top item and score (ALS: the exact solve), and an item nobody took (row and
    column 42 and 49 emptied) is never among another item's similar items."""
    m, all_models = fitted
    # Trained user factors were solved against the item factors before the last half-sweep:
    # they equal a recalculation once the sweeps have converged (within 5e-5 here at 200
    # iterations; 0.022 at 15, 0.001 at 50).
    als = nudge.AlternatingLeastSquares(factors=3, regularization=1.0, alpha=2.0, iterations=200, use_cg=False,
                                        random_state=23, num_threads=1).fit(m)
    users = np.arange(N_ITEMS)
    batch_ids, batch_scores = als.recommend(users, m, N=1, recalculate_user=True)
    for u in users:
        ids, scores = als.recommend(u, m[u], N=1)
        again, again_scores = als.recommend(0, m[u], N=1, recalculate_user=True)
        assert ids[0] == again[0] == batch_ids[u][0]
        assert scores[0] == pytest.approx(again_scores[0], abs=1e-3)
        assert batch_scores[u][0] == pytest.approx(again_scores[0], abs=1e-3)
    with pytest.raises(NotImplementedError):
        all_models[1].recommend(users, m, N=1, recalculate_user=True)  # BPR, as in implicit
    emptied = m.tolil()
    for k in (42, 49):
        emptied[k, :] = 0
        emptied[:, k] = 0
    emptied = emptied.tocsr()
    emptied.eliminate_zeros()
    for model in models():
        model.fit(emptied)
        for item in range(40):
            ids, _ = model.similar_items(item, N=10)
            assert 42 not in ids.tolist() and 49 not in ids.tolist(), (repr(model), item)


def test_als_explain_splits_the_fold_in_score_over_the_users_items():
    m = checkerboard()
    rng = np.random.default_rng(6)
    noisy = m.copy()
    noisy.data = (1 + rng.random(noisy.nnz)).astype(np.float32)
    als = nudge.AlternatingLeastSquares(factors=6, alpha=2.0, iterations=10, random_state=1, num_threads=1).fit(noisy)
    u, item = 4, 4  # the held-out diagonal item
    score, top, weights = als.explain(u, noisy, item, N=5)
    expected = float(als.recalculate_user(u, noisy[u]) @ als.item_factors[item])
    assert score == pytest.approx(expected, rel=1e-4)
    assert len(top) == 5 and all(j in noisy[u].indices for j, _ in top)
    assert [c for _, c in top] == sorted((c for _, c in top), reverse=True)
    _, every, _ = als.explain(u, noisy[u], item, N=N_ITEMS)
    assert len(every) == noisy[u].nnz and sum(c for _, c in every) == pytest.approx(score, rel=1e-6)
    again, again_top, _ = als.explain(u, noisy[u], item, user_weights=weights, N=5)
    assert again == pytest.approx(score) and again_top == top
    with pytest.raises(IndexError):
        als.explain(u, noisy[u], N_ITEMS)


def test_the_rest_of_implicits_suite(fitted):
    """What implicit's RecommenderBaseTestMixin checks beyond the tests above: N past the
    catalogue, batch = single without filtering liked items, similar users in batch (itself
    first, cosine 1) and restricted to `users`, similar items from given item_users, float64
    input, out-of-range `items` (IndexError) and non-CSR rows at recommend (ValueError)."""
    m, all_models = fitted
    users = np.arange(N_ITEMS)
    for model in all_models:
        ids, _ = model.recommend(0, m[0], N=10000)
        # N is cut to the catalogue; every unseen item comes back once, the rest is padding
        assert ids.shape == (N_ITEMS,) and sorted(ids[ids >= 0].tolist()) == sorted(set(range(N_ITEMS)) -
                                                                                    set(m[0].indices.tolist()))
        batch_ids, batch_scores = model.recommend(users, m, N=5, filter_already_liked_items=False)
        for u in (0, 13, 49):
            one_ids, one_scores = model.recommend(u, m[u], N=5, filter_already_liked_items=False)
            np.testing.assert_allclose(one_scores, batch_scores[u], rtol=1e-5, atol=1e-6)
            np.testing.assert_array_equal(one_ids, batch_ids[u])
        for wrong in ([1, 2, -1], [1, 2, N_ITEMS]):
            with pytest.raises(IndexError):
                model.recommend(0, m[0], items=wrong)
        with pytest.raises(ValueError):
            model.recommend(0, m.tocoo())
        type(model)(**_same_parameters(model)).fit(m.astype(np.float64))  # float64 input is converted
    rng = np.random.default_rng(8)
    noisy = m.copy()
    noisy.data = (1 + rng.random(noisy.nnz)).astype(np.float32)
    for model in (nudge.AlternatingLeastSquares(factors=6, alpha=2.0, iterations=10, random_state=1, num_threads=1),
                  nudge.BayesianPersonalizedRanking(factors=6, learning_rate=0.05, iterations=300, random_state=1,
                                                    num_threads=1)):
        model.fit(noisy)
        ids, scores = model.similar_users(users, N=10)
        assert ids.shape == (N_ITEMS, 10)
        assert all(ids[u][0] == u and scores[u][0] == pytest.approx(1.0, abs=1e-4) for u in users), repr(model)
        selected = np.arange(10)
        ids, _ = model.similar_users(users, N=10, users=selected)
        assert all(set(ids[u].tolist()) == set(selected.tolist()) for u in users)
    als = nudge.AlternatingLeastSquares(factors=6, alpha=2.0, iterations=30, use_cg=False, random_state=1,
                                        num_threads=1).fit(noisy)
    item_users = noisy.T.tocsr()
    for item in (0, 5, 17):
        ids, scores = als.similar_items(item, N=10)
        again, again_scores = als.similar_items(item, N=10, recalculate_item=True, item_users=item_users[item])
        np.testing.assert_array_equal(ids[:3], again[:3])
        np.testing.assert_allclose(scores, again_scores, atol=2e-2)


def _same_parameters(model):
    """The constructor keywords the fixture's models were made with, for a fresh copy."""
    return {"AlternatingLeastSquares": dict(factors=3, regularization=1.0, alpha=2.0, iterations=15, use_cg=False,
                                            random_state=23, num_threads=1),
            "BayesianPersonalizedRanking": dict(factors=3, learning_rate=0.05, iterations=30, random_state=23,
                                                num_threads=1),
            "EASE": dict(regularization=10.0, num_threads=1)}.get(type(model).__name__, dict(K=50))
