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
mean; at predict time other feature matrices (new items or users appended as rows, rows
changed) are read through the towers, an item whose row is new or changed by its features alone
(its ID embedding belongs to the fit's row); fit_partial goes on with the same users and items
(softmax restarts Adam's moments at each call).
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


def _csr_matrix(matrix, name):
    """A scipy.sparse matrix as CSR (converted with a ParameterWarning, as fit does)."""
    indptr, indices, data, rows, cols = _csr(matrix, name, stacklevel=6)
    import scipy.sparse
    return scipy.sparse.csr_matrix((data, indices, indptr), shape=(rows, cols))


def _rows_tuple(matrix, rows, cols, name):
    """_feature_arrays of `rows` rows of a feature matrix (checked as fit checks them); None:
    `rows` empty rows of `cols` columns."""
    if matrix is None:
        return (_np.zeros(rows + 1, dtype=_np.int64), _np.zeros(0, dtype=_np.int32), _np.zeros(0, dtype=_np.float32),
                cols)
    return _feature_arrays(matrix, rows, name)


class LightFM:
    """LightFM(no_components=10, k=5, n=10, learning_schedule="adagrad", loss="logistic",
    learning_rate=0.05, rho=0.95, epsilon=1e-6, item_alpha=0.0, user_alpha=0.0, max_sampled=10,
    random_state=None), trained as Nudge's two-tower model."""

    def __init__(self, no_components=10, k=5, n=10, learning_schedule="adagrad", loss="logistic",
                 learning_rate=0.05, rho=0.95, epsilon=1e-6, item_alpha=0.0, user_alpha=0.0, max_sampled=10,
                 random_state=None):
        self.k, self.n, self.rho, self.epsilon = k, n, rho, epsilon  # accepted, not used (Nudge's optimisers are fixed)
        self.learning_schedule = learning_schedule
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

    _PARAMS = ("no_components", "k", "n", "learning_schedule", "loss", "learning_rate", "rho", "epsilon", "item_alpha",
               "user_alpha", "max_sampled", "random_state")

    def get_params(self, deep=True):
        """The constructor's parameters, as LightFM's (scikit-learn's) get_params."""
        del deep
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params):
        """Sets constructor parameters (checked as the constructor checks them). They take
        effect at the next fit; fit_partial goes on with the parameters of the fitted model."""
        unknown = sorted(set(params) - set(self._PARAMS))
        if unknown:
            raise ValueError(f"Invalid parameter {unknown[0]} for estimator LightFM (known: {', '.join(self._PARAMS)})")
        checked = LightFM(**{**self.get_params(), **params})  # raises before anything changes
        for name in self._PARAMS:
            setattr(self, name, getattr(checked, name))
        return self

    def _trained_arrays(self, which):
        self._require_fitted()
        if self._features[which] is not None:
            side = ("user", "item")[which]
            raise AttributeError(f"{side}_embeddings / {side}_biases: with {side}_features LightFM keeps one embedding "
                                 f"per feature column; Nudge's {side}s are not a sum of such columns (items: an ID "
                                 f"embedding plus the mean of their features'; users: their items and attributes), so "
                                 f"there is no such array: get_{side}_representations() gives what is scored")
        return self.get_item_representations() if which else self.get_user_representations()

    @property
    def item_embeddings(self):
        """LightFM's item embeddings for a model fitted without item_features (LightFM's
        identity features: one row per item): the items' vectors as scored."""
        return self._trained_arrays(1)[1]

    @property
    def item_biases(self):
        return self._trained_arrays(1)[0]

    @property
    def user_embeddings(self):
        """For a model fitted without user_features: each user's vector as scored (the user
        tower over their items)."""
        return self._trained_arrays(0)[1]

    @property
    def user_biases(self):
        return self._trained_arrays(0)[0]

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
            self._feature_rows = tuple(None if f is None else f.tocsr() for f in self._features)
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
                raise ValueError(f"{name}: fit_partial goes on with the fit's own feature matrices")

    def _plan(self, given, which):
        """None when `given` is None or the fit's own matrix (the trained rows as they are); else
        (CSR matrix, changed) where changed[r] says row r is new or differs from the fit's row."""
        fitted, name = self._features[which], ("user_features", "item_features")[which]
        if given is None or given is fitted:
            return None
        if fitted is None:
            raise ValueError(f"{name}: the model was fitted without {name} (fit with them to predict with them)")
        matrix = _csr_matrix(given, name)
        if matrix.shape[1] != fitted.shape[1]:
            raise ValueError(f"{name}: {matrix.shape[1]} feature columns, the fit's {fitted.shape[1]}")
        changed = _np.ones(matrix.shape[0], dtype=bool)
        n = min(self._shape[which], matrix.shape[0])
        if n:
            differ = (matrix[:n] != 0) != (self._feature_rows[which][:n] != 0)
            changed[:n] = _np.diff(differ.tocsr().indptr) > 0
        return matrix, changed

    def _score_rows(self, users, user_plan, item_plan):
        """(chunk, scores) for the users in chunks of 256: scores[r, i] of every item of the
        catalogue the plans give (the trained items, or the rows of the given item_features)."""
        tower = self._model._model
        if (user_plan is None or not user_plan[1].any()) and (item_plan is None or not item_plan[1].any()):
            catalogue = tower.num_items if item_plan is None else item_plan[0].shape[0]  # fewer rows: those items
            for start in range(0, users.size, 256):  # 256 users' score rows at a time
                chunk = users[start:start + 256]
                yield chunk, self._model.score(chunk)[:, :catalogue]
            return
        attributes = user_plan[0] if user_plan is not None else self._feature_rows[0]
        if item_plan is None:
            described_rows, catalogue = _np.empty(0, dtype=_np.int64), tower.num_items
        else:
            described_rows, catalogue = _np.flatnonzero(item_plan[1]), item_plan[0].shape[0]
        described = _rows_tuple(item_plan[0][described_rows] if item_plan is not None else None,
                                described_rows.size, 0, "item_features")
        kept = _np.setdiff1d(_np.arange(min(catalogue, tower.num_items)), described_rows)
        for start in range(0, users.size, 256):
            chunk = users[start:start + 256]
            rows = _rows_tuple(None if attributes is None else attributes[chunk], chunk.size,
                               0 if attributes is None else attributes.shape[1], "user_features")
            trained, by_features = tower.score_with_features(chunk, rows, described)
            scores = _np.empty((chunk.size, catalogue), dtype=_np.float32)
            scores[:, kept] = trained[:, kept]
            scores[:, described_rows] = by_features
            yield chunk, scores

    def _users(self, user_plan, ids, name="user_ids"):
        limit = self._model._model.num_users if user_plan is None else user_plan[0].shape[0]
        if ids.size and (ids.min() < 0 or ids.max() >= limit):
            raise ValueError(f"{name}: out of range (0..{limit - 1}" +
                             ("; pass user_features with rows for new users)" if user_plan is None else ")"))

    def predict(self, user_ids, item_ids, item_features=None, user_features=None, num_threads=1):
        """Scores of the (user_ids[k], item_ids[k]) pairs (a scalar user pairs with every item).
        With feature matrices other than the fit's, indices are their rows: new rows (users or
        items appended) and changed rows are read through the towers from their features."""
        self._require_fitted()
        user_plan, item_plan = self._plan(user_features, 0), self._plan(item_features, 1)
        items = _np.asarray(item_ids, dtype=_np.int64).ravel()
        users = _np.broadcast_to(_np.asarray(user_ids, dtype=_np.int64).ravel(), items.shape) \
            if _np.ndim(user_ids) == 0 else _np.asarray(user_ids, dtype=_np.int64).ravel()
        if users.shape != items.shape:
            raise ValueError(f"user_ids and item_ids differ in length ({users.size} vs {items.size})")
        catalogue = self._model._model.num_items if item_plan is None else item_plan[0].shape[0]
        if items.size and (items.min() < 0 or items.max() >= catalogue):
            raise ValueError("item_ids: out of range")
        self._users(user_plan, users)
        self._model.num_threads = _integer("num_threads", num_threads)
        out = _np.empty(items.size, dtype=_np.float32)
        unique, where = _np.unique(users, return_inverse=True)
        start = 0
        for chunk, scores in self._score_rows(unique, user_plan, item_plan):
            picked = (where >= start) & (where < start + chunk.size)
            out[picked] = scores[where[picked] - start, items[picked]]
            start += chunk.size
        return out

    def predict_rank(self, test_interactions, train_interactions=None, item_features=None, user_features=None,
                     num_threads=1, check_intersections=True):
        """The rank (0 = best) of each test item among every item not in train_interactions, as
        a CSR matrix of test_interactions' shape (rows and columns those of the feature matrices
        when they are given)."""
        self._require_fitted()
        user_plan, item_plan = self._plan(user_features, 0), self._plan(item_features, 1)
        test = test_interactions.tocsr()
        train = None if train_interactions is None else train_interactions.tocsr()
        catalogue = self._model._model.num_items if item_plan is None else item_plan[0].shape[0]
        if test.shape[1] != catalogue:
            raise ValueError(f"test_interactions: {test.shape[1]} items, the model scores {catalogue}")
        if check_intersections and train is not None and test.multiply(train).nnz:
            raise ValueError("test_interactions and train_interactions share entries")
        self._model.num_threads = _integer("num_threads", num_threads)
        ranks = test.astype(_np.float32, copy=True)
        users = _np.flatnonzero(_np.diff(test.indptr))
        self._users(user_plan, users, "test_interactions")
        for chunk, scores in self._score_rows(users, user_plan, item_plan):
            for row, u in zip(scores.astype(_np.float64), chunk):
                if train is not None:
                    row[train.indices[train.indptr[u]:train.indptr[u + 1]]] = -_np.inf
                positives = test.indices[test.indptr[u]:test.indptr[u + 1]]
                ordered = _np.sort(row)
                # items scoring strictly above each test item (ties go to the test item)
                ranks.data[test.indptr[u]:test.indptr[u + 1]] = row.size - _np.searchsorted(
                    ordered, row[positives], side="right")
        return ranks

    def get_item_representations(self, features=None):
        """(biases, embeddings) of the items as the model scores them (ID + features); with
        another features matrix, of its rows (new or changed rows: their features alone)."""
        self._require_fitted()
        biases, vectors = self._model._model.item_representations()
        plan = self._plan(features, 1)
        if plan is None:
            return biases, vectors
        matrix, changed = plan
        out_biases = _np.zeros(matrix.shape[0], dtype=_np.float32)
        out_vectors = _np.zeros((matrix.shape[0], vectors.shape[1]), dtype=_np.float32)
        same = _np.flatnonzero(~changed)
        out_biases[same], out_vectors[same] = biases[same], vectors[same]
        rows = _np.flatnonzero(changed)
        if rows.size:
            b, v = self._model._model.described_item_representations(_rows_tuple(matrix[rows], rows.size, 0,
                                                                                          "features"))
            out_biases[rows], out_vectors[rows] = b, v
        return out_biases, out_vectors

    def get_user_representations(self, features=None):
        """(biases, embeddings) of the training users: the user tower over their items and
        attributes (biases are zero: the two-tower model has item biases only); with another
        features matrix, of its rows (a row past the training users has no items)."""
        self._require_fitted()
        biases, vectors = self._model._model.user_representations()
        plan = self._plan(features, 0)
        if plan is None:
            return biases, vectors
        matrix, changed = plan
        out = _np.zeros((matrix.shape[0], vectors.shape[1]), dtype=_np.float32)
        same = _np.flatnonzero(~changed)
        out[same] = vectors[same]
        rows = _np.flatnonzero(changed)
        if rows.size:
            out[rows] = self._model._model.user_representations_with(rows, _rows_tuple(matrix[rows], rows.size, 0,
                                                                                               "features"))
        return _np.zeros(matrix.shape[0], dtype=_np.float32), out

    def __repr__(self):
        spec = self._model.spec if self._model is not None else "not fitted"
        return f"nudge.LightFM({spec!r})"
