"""The evaluation functions of LightFM (lightfm.evaluation) and of implicit
(implicit.evaluation), with their signatures and meanings, so either's users swap the import.

- LightFM's, on a model with a predict_rank (nudge.LightFM): precision_at_k, recall_at_k,
  reciprocal_rank, auc_score; one value per user with test interactions (every user when
  preserve_rows, zeros for the others).
- implicit's, on a model with implicit's recommend (AlternatingLeastSquares, ..., nudge.Model):
  ranking_metrics_at_k and its precision_at_k, mean_average_precision_at_k, ndcg_at_k,
  AUC_at_k (one number over the users with test items), train_test_split and
  leave_k_out_split. precision_at_k is implicit's when the model is not a nudge.LightFM.

For Nudge's own protocols and metrics, nudge.evaluate."""

import numpy as _np


def _ranks(model, test_interactions, train_interactions, user_features, item_features, num_threads,
           check_intersections):
    ranks = model.predict_rank(test_interactions, train_interactions=train_interactions,
                               user_features=user_features, item_features=item_features, num_threads=num_threads,
                               check_intersections=check_intersections)
    return ranks.tocsr()


def _per_user(ranks, value, preserve_rows):
    """value(ranks of a user's test items, user) for each user; users without any are left out
    unless preserve_rows."""
    out = []
    for u in range(ranks.shape[0]):
        row = ranks.data[ranks.indptr[u]:ranks.indptr[u + 1]]
        if row.size == 0:
            if preserve_rows:
                out.append(0.0)
            continue
        out.append(value(row, u))
    return _np.asarray(out, dtype=_np.float32)


def precision_at_k(model, test_interactions, train_interactions=None, k=10, user_features=None, item_features=None,
                   preserve_rows=False, num_threads=1, check_intersections=True, **implicit_keywords):
    """LightFM's precision_at_k(model, test_interactions, train_interactions, k, ...) for a
    nudge.LightFM; for any other model implicit's precision_at_k(model, train_user_items,
    test_user_items, K=10, show_progress=True, num_threads=1)."""
    from .lightfm import LightFM
    if not isinstance(model, LightFM):  # implicit's order: (model, train_user_items, test_user_items, K)
        K = implicit_keywords.pop("K", k)
        show_progress = implicit_keywords.pop("show_progress", True)
        if implicit_keywords:
            raise TypeError(f"precision_at_k: unexpected keywords {sorted(implicit_keywords)}")
        return ranking_metrics_at_k(model, test_interactions, train_interactions, K, show_progress,
                                    num_threads)["precision"]
    if implicit_keywords:
        raise TypeError(f"precision_at_k: unexpected keywords {sorted(implicit_keywords)}")
    ranks = _ranks(model, test_interactions, train_interactions, user_features, item_features, num_threads,
                   check_intersections)
    return _per_user(ranks, lambda r, u: float(_np.sum(r < k)) / k, preserve_rows)


def recall_at_k(model, test_interactions, train_interactions=None, k=10, user_features=None, item_features=None,
                preserve_rows=False, num_threads=1, check_intersections=True):
    ranks = _ranks(model, test_interactions, train_interactions, user_features, item_features, num_threads,
                   check_intersections)
    return _per_user(ranks, lambda r, u: float(_np.sum(r < k)) / r.size, preserve_rows)


def reciprocal_rank(model, test_interactions, train_interactions=None, user_features=None, item_features=None,
                    preserve_rows=False, num_threads=1, check_intersections=True):
    ranks = _ranks(model, test_interactions, train_interactions, user_features, item_features, num_threads,
                   check_intersections)
    return _per_user(ranks, lambda r, u: 1.0 / (float(r.min()) + 1.0), preserve_rows)


def auc_score(model, test_interactions, train_interactions=None, user_features=None, item_features=None,
              preserve_rows=False, num_threads=1, check_intersections=True):
    """Per user, the share of (test item, negative) pairs ranked in order; negatives are the
    items in neither matrix."""
    ranks = _ranks(model, test_interactions, train_interactions, user_features, item_features, num_threads,
                   check_intersections)
    train = None if train_interactions is None else train_interactions.tocsr()
    n_items = ranks.shape[1]

    def auc(r, u):
        seen = 0 if train is None else train.indptr[u + 1] - train.indptr[u]
        negatives = n_items - seen - r.size
        if negatives <= 0:
            return 1.0
        ordered = _np.sort(r)
        above = ordered - _np.arange(r.size)  # negatives ranked above each test item
        return float(1.0 - above.mean() / negatives)

    return _per_user(ranks, auc, preserve_rows)


# implicit.evaluation ------------------------------------------------------------------------


def _as_csr(matrix, name):
    import scipy.sparse
    if not scipy.sparse.issparse(matrix):
        raise ValueError(f"{name}: expected a scipy.sparse matrix (users x items), got {type(matrix).__name__}")
    matrix = matrix.tocsr(copy=True)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix


def ranking_metrics_at_k(model, train_user_items, test_user_items, K=10, show_progress=True, num_threads=1):
    """implicit's metrics over the users with test items, each recommended its top K with its
    training items filtered: precision = hits / min(K, test items), summed over users before
    dividing; map and ndcg (ideal: min(K, test items) hits first) averaged over users; auc
    implicit's AUC@K (items past the top K count as ranked in between). Returns a dict with
    precision, map, ndcg and auc."""
    del show_progress
    K = int(K)
    if K < 1:
        raise ValueError("K: must be >= 1")
    train, test = _as_csr(train_user_items, "train_user_items"), _as_csr(test_user_items, "test_user_items")
    if train.shape != test.shape:
        raise ValueError(f"train_user_items {train.shape} and test_user_items {test.shape} differ in shape")
    users = _np.flatnonzero(_np.diff(test.indptr))
    if users.size == 0:
        raise ValueError("test_user_items: no user has a test item")
    items = test.shape[1]
    gain = 1.0 / _np.log2(_np.arange(2, K + 2))
    ideal = _np.cumsum(gain)
    relevant = divisor = mean_ap = ndcg = mean_auc = 0.0
    if hasattr(model, "num_threads") and num_threads:
        model.num_threads = int(num_threads)
    for start in range(0, users.size, 1024):
        batch = users[start:start + 1024]
        ids, _ = model.recommend(batch, train[batch], N=K)
        ids = _np.atleast_2d(ids)
        for row, u in zip(ids, batch):
            likes = test.indices[test.indptr[u]:test.indptr[u + 1]]
            hits = _np.zeros(K, dtype=bool)
            hits[:row.size] = _np.isin(row, likes)  # -1 (no item) is never a hit
            seen = _np.cumsum(hits)
            positives, best = likes.size, min(K, likes.size)
            relevant += seen[-1]
            divisor += best
            at = _np.flatnonzero(hits)
            mean_ap += float(_np.sum(seen[at] / (at + 1.0))) / best
            ndcg += float(gain[at].sum()) / ideal[best - 1]
            negatives, misses = items - positives, K - int(seen[-1])
            auc = float(seen[~hits].sum()) + (seen[-1] + positives) / 2.0 * (negatives - misses)
            mean_auc += auc / (positives * negatives) if negatives > 0 else 1.0
    return {"precision": relevant / divisor, "map": mean_ap / users.size, "ndcg": ndcg / users.size,
            "auc": mean_auc / users.size}


def mean_average_precision_at_k(model, train_user_items, test_user_items, K=10, show_progress=True, num_threads=1):
    return ranking_metrics_at_k(model, train_user_items, test_user_items, K, show_progress, num_threads)["map"]


def ndcg_at_k(model, train_user_items, test_user_items, K=10, show_progress=True, num_threads=1):
    return ranking_metrics_at_k(model, train_user_items, test_user_items, K, show_progress, num_threads)["ndcg"]


def AUC_at_k(model, train_user_items, test_user_items, K=10, show_progress=True, num_threads=1):  # noqa: N802
    return ranking_metrics_at_k(model, train_user_items, test_user_items, K, show_progress, num_threads)["auc"]


def _random_state(random_state):
    if isinstance(random_state, _np.random.RandomState):
        return random_state
    return _np.random.RandomState(random_state)


def _entries(coo, mask):
    """The entries of a COO matrix where mask, as a CSR matrix of its shape and dtype."""
    import scipy.sparse
    return scipy.sparse.csr_matrix((coo.data[mask], (coo.row[mask], coo.col[mask])), shape=coo.shape,
                                   dtype=coo.dtype)


def train_test_split(ratings, train_percentage=0.8, random_state=None):
    """implicit's random split: each stored entry goes to train with probability
    train_percentage, else to test (negative test values dropped). Returns (train, test) CSR.
    Same protocol as implicit's, not the same draw."""
    if not 0.0 <= float(train_percentage) <= 1.0:
        raise ValueError("train_percentage: must be from 0 to 1")
    coo = ratings.tocoo()
    keep = _random_state(random_state).random_sample(coo.nnz) < train_percentage
    train, test = _entries(coo, keep), _entries(coo, ~keep)
    test.data[test.data < 0] = 0
    test.eliminate_zeros()
    return train, test


def leave_k_out_split(ratings, K=1, train_only_size=0.0, random_state=None):
    """implicit's leave-k-out: each user with more than K + 1 entries has K of them, drawn at
    random, in test, the rest in train; a train_only_size share of the users (drawn) stays in
    train whole. Returns (train, test) CSR. Same protocol as implicit's, not the same draw."""
    K = int(K)
    if K < 1:
        raise ValueError("The 'K' must be >= 1.")
    if not 0.0 <= float(train_only_size) < 1.0:
        raise ValueError("The 'train_only_size' must be in the range (0.0 <= x < 1.0).")
    rng = _random_state(random_state)
    coo = ratings.tocsr().tocoo()
    counts = _np.bincount(coo.row, minlength=coo.shape[0])
    eligible = counts > K + 1
    if train_only_size > 0.0:
        present = _np.flatnonzero(counts)
        held = rng.choice(present, size=max(1, int(present.size * train_only_size)), replace=False)
        eligible[held] = False
    # K entries of each eligible user: sort each user's entries by a random key, take the first K.
    key = rng.random_sample(coo.nnz)
    order = _np.lexsort((key, coo.row))
    starts = _np.r_[0, _np.cumsum(counts)[:-1]]
    position = _np.empty(coo.nnz, dtype=_np.int64)
    position[order] = _np.arange(coo.nnz) - _np.repeat(starts, counts)
    test_mask = eligible[coo.row] & (position < K)
    return _entries(coo, ~test_mask), _entries(coo, test_mask)
