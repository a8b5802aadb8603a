"""LightFM's API on Nudge's feature-aware model (the two-tower model, `twotower`), so that code
written for LightFM swaps `from lightfm import LightFM` for `from nudge import LightFM`.

    model = nudge.LightFM(no_components=64, loss="warp")
    model.fit(interactions, user_features=uf, item_features=itf, epochs=20, num_threads=2)
    scores = model.predict(user_ids, item_ids)
    ranks = model.predict_rank(test, train_interactions=train)
    item_biases, item_embeddings = model.get_item_representations()

What differs, on purpose (docs/python.md has the table): the loss "logistic" (LightFM's default)
has no counterpart and stands for Nudge's default, a softmax over every item; a feature
matrix's entries are read as present or absent (their values are not weights); k, n,
learning_schedule, rho and epsilon are accepted and not used (Nudge's optimisers are fixed:
Adam for softmax, Adagrad for warp and bpr); item_alpha and user_alpha are one L2 weight, their
mean; features at predict time must be the ones the model was fitted with; fit_partial goes on
with the same users and items (softmax restarts Adam's moments at each call).
"""

import numpy as _np

from . import Model, _csr, _integer, _seed

_LOSSES = {"warp": "warp", "bpr": "bpr", "logistic": "softmax", "warp-kos": "warp"}


def _feature_arrays(matrix, rows, name):
    if matrix is None:
        return None
    indptr, indices, data, n_rows, n_cols = _csr(matrix, name, stacklevel=5)
    if n_rows != rows:
        raise ValueError(f"{name}: {n_rows} rows, expected {rows} (one per {name.split('_')[0]})")
    return (indptr, indices, data, n_cols)


class LightFM:
    """LightFM(no_components=10, k=5, n=10, learning_schedule="adagrad", loss="logistic",
    learning_rate=0.05, rho=0.95, epsilon=1e-6, item_alpha=0.0, user_alpha=0.0, max_sampled=10,
    random_state=None), trained as Nudge's two-tower model."""

    def __init__(self, no_components=10, k=5, n=10, learning_schedule="adagrad", loss="logistic",
                 learning_rate=0.05, rho=0.95, epsilon=1e-6, item_alpha=0.0, user_alpha=0.0, max_sampled=10,
                 random_state=None):
        del k, n, rho, epsilon  # Nudge's optimisers are fixed (module docstring)
        if learning_schedule not in ("adagrad", "adadelta"):
            raise ValueError(f"learning_schedule: expected adagrad or adadelta, got {learning_schedule!r}")
        if loss not in _LOSSES:
            raise ValueError(f"loss: expected one of {', '.join(_LOSSES)}, got {loss!r}")
        self.no_components = _integer("no_components", no_components)
        self.loss = loss
        self.learning_rate = float(learning_rate)
        self.item_alpha, self.user_alpha = float(item_alpha), float(user_alpha)
        self.max_sampled = _integer("max_sampled", max_sampled)
        self.random_state = random_state
        self._model = None

    def _spec_params(self, epochs, num_threads):
        params = {"factors": self.no_components, "loss": _LOSSES[self.loss], "epochs": _integer("epochs", epochs),
                  "regularization": (self.item_alpha + self.user_alpha) / 2, "seed": _seed(self.random_state),
                  "num_threads": _integer("num_threads", num_threads)}
        if params["loss"] != "softmax":  # softmax keeps Nudge's Adam rate (0.02)
            params["learning_rate"] = self.learning_rate
            params["negatives"] = max(self.max_sampled, 1)
        return params

    def fit(self, interactions, user_features=None, item_features=None, sample_weight=None, epochs=1, num_threads=1,
            verbose=False):
        """Trains from scratch on interactions (users x items; any scipy.sparse format), the
        weights from sample_weight (same shape) when given, and the feature matrices."""
        self._model = None
        return self.fit_partial(interactions, user_features, item_features, sample_weight, epochs, num_threads,
                                verbose)

    def fit_partial(self, interactions, user_features=None, item_features=None, sample_weight=None, epochs=1,
                    num_threads=1, verbose=False):
        """`epochs` more epochs from where the last fit left the model (its optimiser state is
        kept), on these interactions: the same users and items (shape), any entries; the first
        call fits from scratch. With loss="logistic" (Nudge's softmax) each call restarts Adam's
        moments and its learning-rate decay, where LightFM's Adagrad would go on."""
        del verbose
        matrix = interactions if sample_weight is None else sample_weight
        if sample_weight is not None and sample_weight.shape != interactions.shape:
            raise ValueError(f"sample_weight: shape {sample_weight.shape}, interactions {interactions.shape}")
        indptr, indices, data, rows, cols = _csr(matrix.tocsr(), "interactions")
        epochs = _integer("epochs", epochs)
        if self._model is None:
            self._model = Model("twotower", **self._spec_params(epochs, num_threads))
            self._features = (user_features, item_features)
            self._shape = (rows, cols)
        elif (rows, cols) != self._shape:
            raise ValueError(f"interactions: shape {(rows, cols)}, the fitted model's {self._shape} (fit_partial "
                             "continues with the same users and items; call fit for others)")
        else:
            self._check_features(user_features, item_features)
            self._model.num_threads = _integer("num_threads", num_threads)
        try:
            self._model._model.fit_features(indptr, indices, data, rows, cols,
                                            _feature_arrays(user_features, rows, "user_features"),
                                            _feature_arrays(item_features, cols, "item_features"), more_epochs=epochs)
        except BaseException:
            if not self._model.fitted:
                self._model = None
            raise
        return self

    def _require_fitted(self):
        if self._model is None:
            raise ValueError("the model is not fitted: call fit() first")

    def _check_features(self, user_features, item_features):
        for given, fitted, name in zip((user_features, item_features), self._features,
                                       ("user_features", "item_features")):
            if given is not None and given is not fitted:
                raise ValueError(f"{name}: predicting with other features than the fit's is not supported")

    def predict(self, user_ids, item_ids, item_features=None, user_features=None, num_threads=1):
        """Scores of the (user_ids[k], item_ids[k]) pairs (a scalar user pairs with every item)."""
        self._require_fitted()
        self._check_features(user_features, item_features)
        items = _np.asarray(item_ids, dtype=_np.int64).ravel()
        users = _np.broadcast_to(_np.asarray(user_ids, dtype=_np.int64).ravel(), items.shape) \
            if _np.ndim(user_ids) == 0 else _np.asarray(user_ids, dtype=_np.int64).ravel()
        if users.shape != items.shape:
            raise ValueError(f"user_ids and item_ids differ in length ({users.size} vs {items.size})")
        if items.size and (items.min() < 0 or items.max() >= self._model._model.num_items):
            raise ValueError("item_ids: out of range")
        self._model.num_threads = _integer("num_threads", num_threads)
        out = _np.empty(items.size, dtype=_np.float32)
        unique, where = _np.unique(users, return_inverse=True)
        for start in range(0, unique.size, 256):  # 256 users' score rows at a time
            chunk = unique[start:start + 256]
            scores = self._model.score(chunk)
            picked = (where >= start) & (where < start + chunk.size)
            out[picked] = scores[where[picked] - start, items[picked]]
        return out

    def predict_rank(self, test_interactions, train_interactions=None, item_features=None, user_features=None,
                     num_threads=1, check_intersections=True):
        """The rank (0 = best) of each test item among every item not in train_interactions, as
        a CSR matrix of test_interactions' shape."""
        self._require_fitted()
        self._check_features(user_features, item_features)
        test = test_interactions.tocsr()
        train = None if train_interactions is None else train_interactions.tocsr()
        if check_intersections and train is not None and test.multiply(train).nnz:
            raise ValueError("test_interactions and train_interactions share entries")
        self._model.num_threads = _integer("num_threads", num_threads)
        ranks = test.astype(_np.float32, copy=True)
        users = _np.flatnonzero(_np.diff(test.indptr))
        for start in range(0, users.size, 256):
            chunk = users[start:start + 256]
            scores = self._model.score(chunk).astype(_np.float64)
            for row, u in zip(scores, chunk):
                if train is not None:
                    row[train.indices[train.indptr[u]:train.indptr[u + 1]]] = -_np.inf
                positives = test.indices[test.indptr[u]:test.indptr[u + 1]]
                ordered = _np.sort(row)
                # items scoring strictly above each test item (ties go to the test item)
                ranks.data[test.indptr[u]:test.indptr[u + 1]] = row.size - _np.searchsorted(
                    ordered, row[positives], side="right")
        return ranks

    def get_item_representations(self, features=None):
        """(biases, embeddings) of the items as the model scores them (ID + features)."""
        self._require_fitted()
        if features is not None and features is not self._features[1]:
            raise ValueError("features: representations of other features than the fit's are not supported")
        return self._model._model.item_representations()

    def get_user_representations(self, features=None):
        """(biases, embeddings) of the training users: the user tower over their items and
        attributes (biases are zero: the two-tower model has item biases only)."""
        self._require_fitted()
        if features is not None and features is not self._features[0]:
            raise ValueError("features: representations of other features than the fit's are not supported")
        return self._model._model.user_representations()

    def __repr__(self):
        spec = self._model.spec if self._model is not None else "not fitted"
        return f"nudge.LightFM({spec!r})"
