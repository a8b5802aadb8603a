"""LightFM's API (nudge.LightFM, nudge.evaluation) on the two-tower model, and the sequence API
(fit_events, recommend_history): planted structure is learnt, ranks agree with scores and with
nudge.evaluate's metrics, representations give the scores, and the refusals are clear."""
import numpy as np
import pytest
import scipy.sparse as sp

import nudge
from nudge import evaluation

GROUPS = 4


def planted(users=200, items=120, per_user=10, seed=3):
    """Users of group g (u % 4) take items of group g (i % 4); items carry their group as a
    feature column, users theirs."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for u in range(users):
        for i in rng.choice(np.arange(u % GROUPS, items, GROUPS), per_user, replace=False):
            rows.append(u)
            cols.append(i)
    m = sp.coo_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(users, items))
    item_features = sp.csr_matrix((np.ones(items), (np.arange(items), np.arange(items) % GROUPS)), shape=(items, GROUPS))
    user_features = sp.csr_matrix((np.ones(users), (np.arange(users), np.arange(users) % GROUPS)), shape=(users, GROUPS))
    return m, item_features, user_features


def split(m, seed=5):
    """Two items of each user held out."""
    m = m.tocsr()
    rng = np.random.default_rng(seed)
    train, test = m.tolil(), sp.lil_matrix(m.shape, dtype=np.float32)
    for u in range(m.shape[0]):
        for i in rng.choice(m.indices[m.indptr[u]:m.indptr[u + 1]], 2, replace=False):
            train[u, i] = 0
            test[u, i] = 1
    train = train.tocsr()
    train.eliminate_zeros()
    return train, test.tocsr()


@pytest.fixture(scope="module")
def fitted():
    m, itf, uf = planted()
    train, test = split(m)
    model = nudge.LightFM(no_components=16, loss="warp", learning_rate=0.05, random_state=1)
    model.fit(train, user_features=uf, item_features=itf, epochs=20, num_threads=1)
    return model, train, test, itf, uf


def test_scores_follow_the_planted_groups(fitted):
    model, train, test, itf, uf = fitted
    items = np.arange(120)
    for u in (0, 1, 7):
        scores = model.predict(u, items)
        assert scores.shape == (120,) and scores.dtype == np.float32
        same = scores[items % GROUPS == u % GROUPS].mean()
        assert same > scores[items % GROUPS != u % GROUPS].mean() + 0.5 * scores.std()
    pairs = model.predict(np.array([0, 1, 0]), np.array([4, 5, 8]))
    np.testing.assert_allclose(pairs, [model.predict(0, [4])[0], model.predict(1, [5])[0], model.predict(0, [8])[0]])


def test_ranks_agree_with_scores_and_with_nudge_evaluate(fitted):
    model, train, test, itf, uf = fitted
    ranks = model.predict_rank(test, train_interactions=train)
    assert ranks.shape == test.shape and ranks.nnz == test.nnz
    u = 3
    scores = model.predict(u, np.arange(120)).astype(np.float64)
    scores[train[u].indices] = -np.inf
    for i, r in zip(test[u].indices, ranks[u].data):
        assert r == np.sum(scores > scores[i])
    precision = evaluation.precision_at_k(model, test, train_interactions=train, k=10)
    recall = evaluation.recall_at_k(model, test, train_interactions=train, k=10)
    auc = evaluation.auc_score(model, test, train_interactions=train)
    rr = evaluation.reciprocal_rank(model, test, train_interactions=train)
    assert precision.shape == recall.shape == auc.shape == rr.shape == (200,)
    assert auc.mean() > 0.85 and rr.min() > 0
    ours = nudge.evaluate(model._model, train, test, K=10)
    assert precision.mean() == pytest.approx(ours["precision@10"], abs=1e-6)
    assert recall.mean() == pytest.approx(ours["recall@10"], abs=1e-6)
    assert auc.mean() == pytest.approx(ours["auc"], abs=1e-5)
    with pytest.raises(ValueError, match="share entries"):
        model.predict_rank(train, train_interactions=train)


def test_representations_give_the_scores(fitted):
    model, train, test, itf, uf = fitted
    item_biases, item_vectors = model.get_item_representations()
    user_biases, user_vectors = model.get_user_representations()
    assert item_vectors.shape == (120, 16) and user_vectors.shape == (200, 16)
    expected = user_vectors[5] @ item_vectors.T + item_biases + user_biases[5]
    np.testing.assert_allclose(model.predict(5, np.arange(120)), expected, rtol=1e-4, atol=1e-5)


def with_new_rows(features, groups):
    """features with one row appended per group in `groups` (its group's column set)."""
    new = sp.csr_matrix((np.ones(len(groups)), (np.arange(len(groups)), groups)), shape=(len(groups), GROUPS))
    return sp.vstack([features, new]).tocsr()


def test_new_items_are_scored_by_their_features_and_trained_ones_as_before(fitted):
    """LightFM's cold start: items appended as rows of item_features are scored through the
    item tower of their features; the trained items keep their scores."""
    model, train, test, itf, uf = fitted
    groups = [0, 1, 2, 3, 0, 1, 2, 3]
    grown = with_new_rows(itf, groups)
    items = np.arange(128)
    for u in (0, 1, 2, 7):
        scores = model.predict(u, items, item_features=grown)
        np.testing.assert_allclose(scores[:120], model.predict(u, np.arange(120)), rtol=1e-5, atol=1e-5)
        new = scores[120:]
        own = [k for k, g in enumerate(groups) if g == u % GROUPS]
        others = [k for k, g in enumerate(groups) if g != u % GROUPS]
        assert new[own].min() > new[others].max(), (u, new)
    biases, vectors = model.get_item_representations(grown)
    assert vectors.shape == (128, 16)
    user = model.get_user_representations()[1][7]
    np.testing.assert_allclose(model.predict(7, items, item_features=grown), vectors @ user + biases,
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(vectors[:120], model.get_item_representations()[1])
    # The copy of the fit's matrix changes nothing; a changed row is its features alone.
    np.testing.assert_array_equal(model.predict(3, items[:120], item_features=itf.copy()),
                                  model.predict(3, items[:120]))
    moved = itf.tolil()
    moved[0, 0], moved[0, 1] = 0, 1  # item 0 (group 0) now described as group 1
    moved = moved.tocsr()
    moved.eliminate_zeros()
    scores = model.predict(1, items[:120], item_features=moved)
    np.testing.assert_allclose(scores[0], model.predict(1, [120], item_features=with_new_rows(itf, [1]))[0],
                               rtol=1e-5)
    fewer = model.predict_rank(sp.csr_matrix(([1.0], ([0], [4])), shape=(200, 100)), item_features=itf[:100])
    assert fewer.shape == (200, 100) and fewer.data[0] < 100  # ranked among the 100 items given
    ranks = model.predict_rank(sp.csr_matrix(([1.0], ([0], [120])), shape=(200, 121)), item_features=
                               with_new_rows(itf, [0]))
    assert ranks.shape == (200, 121) and ranks.data[0] < 60  # user 0's own group, among the top half


def test_new_users_are_served_by_their_features(fitted):
    """Users appended as rows of user_features, with no interactions, are their attributes'
    tower. The default loss (Nudge's softmax) trains users on attributes alone some of the time;
    warp does not, and serves such users poorly (top 10 in their group 0.0-0.8 here)."""
    _, train, test, itf, uf = fitted
    model = nudge.LightFM(no_components=16, random_state=1)
    model.fit(train, user_features=uf, item_features=itf, epochs=20, num_threads=1)
    grown = with_new_rows(uf, [0, 1, 2, 3])
    items = np.arange(120)
    for g in range(GROUPS):
        scores = model.predict(200 + g, items, user_features=grown)
        assert scores[items % GROUPS == g].mean() > scores[items % GROUPS != g].mean() + 0.5 * scores.std()
    np.testing.assert_allclose(model.predict(5, items, user_features=grown), model.predict(5, items), rtol=1e-5,
                               atol=1e-5)
    biases, users = model.get_user_representations(grown)
    item_biases, item_vectors = model.get_item_representations()
    assert users.shape == (204, 16)
    np.testing.assert_allclose(model.predict(202, items, user_features=grown), item_vectors @ users[202] + item_biases,
                               rtol=1e-4, atol=1e-5)
    both = model.predict(201, np.arange(124), user_features=grown, item_features=with_new_rows(itf, [0, 1, 2, 3]))
    assert both[121] == both[120:].max()  # the new group-1 user's best new item is the group-1 one


def test_lightfm_refusals_are_clear(fitted):
    model, train, test, itf, uf = fitted
    with pytest.raises(ValueError, match="loss"):
        nudge.LightFM(loss="hinge")
    with pytest.raises(ValueError, match="same users and items"):
        model.fit_partial(train[:50])
    with pytest.raises(ValueError, match="item_features: 5 feature columns, the fit's 4"):
        model.predict(0, [1], item_features=sp.hstack([itf, itf[:, :1]]).tocsr())
    with pytest.raises(ValueError, match=r"user_ids: out of range \(0..199; pass user_features"):
        model.predict(200, [1])
    with pytest.raises(ValueError, match="the model was fitted without item_features"):
        nudge.LightFM(no_components=4).fit(train, epochs=1).predict(0, [1], item_features=itf)
    bad = with_new_rows(itf, [0]).astype(np.float32)
    bad.data[-1] = np.nan  # predict-time feature matrices are checked as fit checks them
    with pytest.raises(ValueError, match=r"item_features.data\[0\]: must be a finite number >= 0"):
        model.predict(0, [120], item_features=bad)
    bad.data[-1] = -1.0
    with pytest.raises(ValueError, match="must be a finite number >= 0"):
        model.get_item_representations(bad)
    with pytest.raises(ValueError, match="must be a finite number >= 0"):
        model.predict(200, [1], user_features=sp.vstack([uf, sp.csr_matrix([[0, -2.0, 0, 0]])]).tocsr())
    with pytest.raises(ValueError, match="fit_partial goes on with the fit's own feature matrices"):
        model.fit_partial(train, item_features=itf.copy(), epochs=0)
    with pytest.raises(ValueError, match="not fitted"):
        nudge.LightFM().predict(0, [1])
    with pytest.raises(ValueError, match="item_features: 3 rows, expected 120"):
        nudge.LightFM().fit(train, item_features=itf[:3])
    assert model.predict(0, [1], item_features=itf).shape == (1,)  # the fit's own features are fine


def test_fit_partial_goes_on_from_the_last_fit():
    """LightFM's epoch loop: fit_partial(epochs=1) five times reaches what five epochs reach,
    well above one epoch (IDs only and a small learning rate, so one epoch is far from done);
    the first call fits; each call adds its epochs to the loss curve; fit starts over."""
    m, itf, uf = planted()
    train, test = split(m)

    def auc(model):
        return evaluation.auc_score(model, test, train_interactions=train).mean()

    stepped = nudge.LightFM(no_components=16, loss="warp", learning_rate=0.003, random_state=1)
    stepped.fit_partial(train, epochs=1, num_threads=1)
    one = auc(stepped)
    for _ in range(4):
        stepped.fit_partial(train, epochs=1, num_threads=1)
    assert len(stepped._model.epoch_losses) == 5
    five = nudge.LightFM(no_components=16, loss="warp", learning_rate=0.003, random_state=1)
    five.fit(train, epochs=5, num_threads=1)
    continued, full = auc(stepped), auc(five)  # measured: 0.568, 0.694, 0.690
    assert continued > one + 0.05 and abs(continued - full) < 0.03, (one, continued, full)
    stepped.fit(train, epochs=1, num_threads=1)  # fit starts over
    assert len(stepped._model.epoch_losses) == 1 and abs(auc(stepped) - one) < 1e-6


def test_default_loss_and_sample_weight_train():
    m, itf, uf = planted(users=80, items=40, per_user=6)
    weights = m.copy()
    weights.data = weights.data * 2
    model = nudge.LightFM(no_components=8, random_state=2).fit(m, sample_weight=weights, epochs=10)
    assert "loss=softmax" in model._model.spec
    scores = model.predict(0, np.arange(40))
    assert scores[np.arange(40) % GROUPS == 0].mean() > scores[np.arange(40) % GROUPS != 0].mean()


def test_events_as_arrays_train_a_sequence_model_in_time_order():
    # 30 items in a cycle: after i comes i + 1; events given shuffled, with their times.
    rng = np.random.default_rng(8)
    users, items, times = [], [], []
    for u in range(200):
        start = int(rng.integers(30))
        for t in range(int(rng.integers(5, 10))):
            users.append(u)
            items.append((start + t) % 30)
            times.append(1000 * u + t)
    order = rng.permutation(len(users))
    users, items, times = np.array(users)[order], np.array(items)[order], np.array(times)[order]
    model = nudge.Model("sasrec", factors=16, blocks=1, max_length=10, epochs=30, learning_rate=0.01,
                        validation_users=0, num_threads=1).fit_events(users, items, times)
    ids, scores = model.recommend_history([4, 5, 6], N=3)
    assert ids[0] == 7 and not {4, 5, 6} & set(ids.tolist())
    with pytest.raises(ValueError, match="differ in length"):
        nudge.Model("sasrec").fit_events([0, 1], [2])


def test_lightfm_attributes_and_parameters(fitted):
    """LightFM's embedding attributes where they mean what LightFM's mean (no feature matrix:
    one row per entity), a clear AttributeError where they cannot, and get/set_params."""
    _, train, test, itf, uf = fitted
    plain = nudge.LightFM(no_components=8, loss="warp", random_state=2).fit(train, epochs=3)
    biases, vectors = plain.get_item_representations()
    np.testing.assert_array_equal(plain.item_embeddings, vectors)
    np.testing.assert_array_equal(plain.item_biases, biases)
    assert plain.user_embeddings.shape == (200, 8) and not plain.user_biases.any()
    np.testing.assert_allclose(plain.predict(3, np.arange(120)),
                               plain.item_embeddings @ plain.user_embeddings[3] + plain.item_biases, rtol=1e-4,
                               atol=1e-5)
    model = fitted[0]
    with pytest.raises(AttributeError, match="get_item_representations"):
        model.item_embeddings
    params = plain.get_params()
    assert params["no_components"] == 8 and params["loss"] == "warp" and params["k"] == 5
    before = plain.predict(0, np.arange(5))
    assert plain.set_params(learning_rate=0.1, no_components=4) is plain
    assert plain.get_params()["no_components"] == 4
    np.testing.assert_array_equal(plain.predict(0, np.arange(5)), before)  # the fitted model is kept
    assert plain.fit(train, epochs=1).item_embeddings.shape == (120, 4)  # the next fit uses them
    with pytest.raises(ValueError, match="Invalid parameter colour"):
        plain.set_params(colour=1)
    with pytest.raises(ValueError, match="loss"):
        plain.set_params(loss="hinge", no_components=6)
    assert plain.get_params()["no_components"] == 4 and plain.get_params()["loss"] == "warp"  # unchanged
