"""LightFM's evaluation functions (lightfm.evaluation) with its signatures, on any model with a
predict_rank (nudge.LightFM): one value per user with test interactions (every user when
preserve_rows, NaN-free zeros for the others). For Nudge's own protocols and metrics,
nudge.evaluate."""

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
                   preserve_rows=False, num_threads=1, check_intersections=True):
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
