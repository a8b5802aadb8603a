"""Nudge's recommenders from Python, with the API of `implicit`.

    import nudge, scipy.sparse
    model = nudge.AlternatingLeastSquares(factors=64, iterations=15)
    model.fit(user_items)                       # users x items scipy.sparse matrix
    ids, scores = model.recommend(0, user_items[0], N=10)
    ids, scores = model.recommend(np.arange(100), user_items[:100], N=10)   # a batch: 2-D arrays
    ids, scores = model.similar_items(5, N=10)
    model.save("model.nudge")                   # the CLI reads it: nudge recommend --model-file
    same = nudge.load("model.nudge")            # and this reads the CLI's (nudge train -o)
    nudge.evaluate(model, train, test, K=10)    # full-ranking metrics, as nudge eval gives them

Every model of `nudge train -m` is there: nudge.Model("ease", regularization=300), or by its
class. Parameters are checked as `-m` checks them (ValueError naming the parameter). Users
and items are the matrix's row and column indices; a saved model names them "0", "1", ... and
a loaded CLI model gives its IDs in user_ids / item_ids (index order).
"""

import numpy as _np

from . import _nudge

__all__ = ["Model", "AlternatingLeastSquares", "BayesianPersonalizedRanking", "EASE", "ItemItemRecommender",
           "Popularity", "load", "evaluate"]


def _value_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _csr(matrix, name):
    """The CSR arrays of a scipy.sparse matrix (any format, converted), or a ValueError."""
    try:
        import scipy.sparse
    except ImportError as e:  # pragma: no cover - scipy is a dependency
        raise ImportError("nudge needs scipy for sparse matrices") from e
    if not scipy.sparse.issparse(matrix):
        raise ValueError(f"{name}: expected a scipy.sparse matrix (users x items), got {type(matrix).__name__}")
    csr = matrix.tocsr()
    return csr.indptr, csr.indices, csr.data, csr.shape[0], csr.shape[1]


class Model:
    """Any registered model: Model("ials", factors=32), Model("fusion", models="ials+ease")."""

    def __init__(self, kind, num_threads=None, **params):
        if num_threads is not None:
            params["threads"] = num_threads
        spec = kind + (":" + ",".join(f"{k}={_value_text(v)}" for k, v in params.items()) if params else "")
        self._model = _nudge.Model(spec)
        self.num_threads = num_threads or 0

    @classmethod
    def _wrap(cls, compiled):
        model = cls.__new__(cls)
        model._model = compiled
        model.num_threads = 0
        return model

    @property
    def spec(self):
        """The model's name and parameters, as `nudge train -m` takes them."""
        return self._model.spec

    @property
    def user_ids(self):
        return self._model.user_ids()

    @property
    def item_ids(self):
        return self._model.item_ids()

    def fit(self, user_items, show_progress=False):
        """Trains on a users x items matrix of interaction weights (float32 used as is)."""
        del show_progress  # accepted for implicit's signature
        self._model.fit(*_csr(user_items, "user_items"))
        return self

    def fit_sequences(self, sequences, num_items=None):
        """Trains on event sequences: sequences[u] lists user u's item indices, oldest first
        (what sequence models such as Model("sasrec") read; items may repeat)."""
        self._model.fit_sequences([[int(i) for i in s] for s in sequences], -1 if num_items is None else int(num_items))
        return self

    def score_history(self, items):
        """Scores of every item for a history of item indices given oldest first."""
        return self._model.score_history([int(i) for i in items])

    def recommend(self, userid, user_items=None, N=10, filter_already_liked_items=True, recalculate_user=False):
        """Top N item indices and scores for one user (1-D arrays) or an array of users (2-D).

        user_items holds the users' rows (user_items[userid]): the items to filter, and the
        history a user is folded in from when recalculate_user is set or the user is new. Without
        it, the training rows are used. Rows with fewer than N eligible items end in -1 / -inf.
        """
        single = _np.isscalar(userid)
        users = _np.atleast_1d(_np.asarray(userid))
        if users.dtype.kind not in "iu":
            raise ValueError(f"userid: expected integers, got {users.dtype}")
        rows = (None, None, None)
        if user_items is not None:
            indptr, indices, data, n_rows, n_cols = _csr(user_items, "user_items")
            if n_rows != len(users):
                raise ValueError(f"user_items: {n_rows} rows for {len(users)} users (pass user_items[userid])")
            if n_cols != self._model.num_items:
                raise ValueError(f"user_items: {n_cols} columns for a model of {self._model.num_items} items")
            rows = (indptr, indices, data)
        ids, scores = self._model.recommend(users.astype(_np.int64), *rows, int(N), bool(filter_already_liked_items),
                                            bool(recalculate_user), int(self.num_threads))
        return (ids[0], scores[0]) if single else (ids, scores)

    def score(self, userid):
        """Every item's score for training users (2-D float32, one row per user): the full
        score matrix top-N is taken from, and what the ONNX user graph (nudge export) gives."""
        users = _np.atleast_1d(_np.asarray(userid))
        if users.dtype.kind not in "iu":
            raise ValueError(f"userid: expected integers, got {users.dtype}")
        return self._model.score(users.astype(_np.int64), int(self.num_threads))

    def similar_items(self, itemid, N=10):
        """Up to N items most similar to itemid (itself not included), best first."""
        return self._model.similar_items(int(itemid), int(N))

    def save(self, path):
        self._model.save(str(path))

    def export_onnx(self, path, graph="user", int8=False, top_k=0):
        """Writes the model's scorer as an ONNX file, as `nudge export --format onnx` does:
        graph "user" (training users by index) or "history" (iALS fold-in, two-tower tower,
        their fusion); int8 item matrices; top_k > 0 ends the graph in the top k items.
        Inputs, outputs and metadata: docs/formats/onnx.md."""
        self._model.export_onnx(str(path), str(graph), bool(int8), int(top_k))

    def __repr__(self):
        return f"nudge.{type(self).__name__}({self.spec!r})"


class AlternatingLeastSquares(Model):
    """iALS (Hu, Koren & Volinsky 2008), confidence 1 + alpha * weight."""

    def __init__(self, factors=64, regularization=0.01, alpha=1.0, iterations=15, random_state=42, num_threads=0,
                 **params):
        super().__init__("ials", factors=factors, regularization=regularization, alpha=alpha, iterations=iterations,
                         seed=random_state, num_threads=num_threads, **params)


class BayesianPersonalizedRanking(Model):
    """BPR-MF (Rendle et al. 2009); iterations are epochs."""

    def __init__(self, factors=64, learning_rate=0.01, regularization=0.01, iterations=100, random_state=42,
                 num_threads=0, **params):
        super().__init__("bpr", factors=factors, learning_rate=learning_rate, regularization=regularization,
                         epochs=iterations, seed=random_state, num_threads=num_threads, **params)


class EASE(Model):
    def __init__(self, regularization=500.0, **params):
        super().__init__("ease", regularization=regularization, **params)


class ItemItemRecommender(Model):
    def __init__(self, K=20, similarity="cosine", num_threads=0, **params):
        super().__init__("itemknn", neighbours=K, similarity=similarity, num_threads=num_threads, **params)


class Popularity(Model):
    def __init__(self, **params):
        super().__init__("popularity", **params)


def load(path):
    """A model file written by Model.save or by `nudge train -o`."""
    return Model._wrap(_nudge.load(str(path)))


def evaluate(model, train_user_items, test_user_items, K=10, protocol="full", negatives=100, seed=42):
    """Metrics of a fitted model exactly as `nudge eval --protocol` computes them; K an int or a list.

    protocol="full": every item the user has not trained on is ranked (precision, recall, ndcg,
    hit_rate, mrr, map @K, auc, coverage, ...). "sampled": each test item is ranked among
    `negatives` items the user never touched, drawn with `seed` (NCF's protocol). "rating":
    RMSE and MAE of the predicted ratings against the test values (SVD, SVD++)."""
    ks = [int(k) for k in (K if isinstance(K, (list, tuple)) else [K])]
    train = _csr(train_user_items, "train_user_items")
    test = _csr(test_user_items, "test_user_items")
    for name, shape in (("train_user_items", train[3:]), ("test_user_items", test[3:])):
        if tuple(shape) != (model._model.num_users, model._model.num_items):
            raise ValueError(f"{name}: shape {tuple(shape)} differs from the model's "
                             f"({model._model.num_users}, {model._model.num_items})")
    return model._model.evaluate(*train[:3], *test[:3], ks, str(protocol), int(negatives), int(seed))
