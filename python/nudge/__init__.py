"""Nudge's recommenders from Python, with the API of `implicit` (0.7) for its model classes.

    import nudge, scipy.sparse
    model = nudge.AlternatingLeastSquares(factors=64, iterations=15)
    model.fit(user_items)                       # users x items scipy.sparse CSR matrix
    ids, scores = model.recommend(0, user_items[0], N=10)
    ids, scores = model.recommend(np.arange(100), user_items[:100], N=10)   # a batch: 2-D arrays
    ids, scores = model.similar_items(5, N=10)
    model.save("model.nudge")                   # the CLI reads it: nudge recommend --model-file
    same = nudge.load("model.nudge")            # and this reads the CLI's (nudge train -o)
    nudge.evaluate(model, train, test, K=10)    # full-ranking metrics, as nudge eval gives them

Two ways in:
- the classes named after implicit's (AlternatingLeastSquares, BayesianPersonalizedRanking,
  ItemItemRecommender, CosineRecommender, BM25Recommender, TFIDFRecommender) take implicit's
  parameters with implicit's defaults and meanings (ALS confidence alpha * weight, similar items
  and users starting with the query itself, user_items rows as the history item-based models
  score from), so code written for implicit runs unchanged; EASE and Popularity follow them;
- nudge.Model(kind, **params) is every model of `nudge train -m` with Nudge's own parameters
  and meanings (iALS confidence 1 + alpha * weight, similar items without the query), checked
  as `-m` checks them (ValueError naming the parameter).
docs/python.md maps one onto the other. Users and items are the matrix's row and column
indices; a saved model names them "0", "1", ... and a loaded CLI model gives its IDs in
user_ids / item_ids (index order).
"""

import numbers as _numbers
import os as _os
import tempfile as _tempfile
import time as _time
import warnings as _warnings

import numpy as _np

from . import _nudge

__all__ = ["Model", "AlternatingLeastSquares", "BayesianPersonalizedRanking", "EASE", "ItemItemRecommender",
           "CosineRecommender", "BM25Recommender", "TFIDFRecommender", "Popularity", "LightFM", "ParameterWarning",
           "load", "evaluate", "evaluation"]

_UNFITTED_MAGIC = b"NUDGEPY-UNFITTED\n"  # save() of a model not fitted yet: this line, then its spec


def _callback(callback):
    if callback is not None and not callable(callback):
        raise TypeError(f"callback: expected a function callback(epoch, seconds, loss), got {type(callback).__name__}")
    return callback


class ParameterWarning(UserWarning):
    """Input Nudge accepted but converted or ignored (implicit's warning of the same name):
    a matrix that was not CSR, an explicitly stored zero."""


def _value_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _csr(matrix, name, stacklevel=3):
    """The CSR arrays of a scipy.sparse matrix, or a ValueError. Other formats are converted with a
    ParameterWarning, as implicit does; stored zeros are dropped (they are no interaction)."""
    try:
        import scipy.sparse
    except ImportError as e:  # pragma: no cover - scipy is a dependency
        raise ImportError("nudge needs scipy for sparse matrices") from e
    if not scipy.sparse.issparse(matrix):
        raise ValueError(f"{name}: expected a scipy.sparse matrix (users x items), got {type(matrix).__name__}")
    csr = matrix
    if matrix.format != "csr":
        start = _time.perf_counter()
        csr = matrix.tocsr()
        _warnings.warn(f"{name}: expected a CSR matrix, got {matrix.format.upper()}; converting it took "
                       f"{_time.perf_counter() - start:.3f} s", ParameterWarning, stacklevel=stacklevel)
    if csr.nnz and not _np.all(csr.data != 0):
        csr = csr.copy()
        csr.eliminate_zeros()
    return csr.indptr, csr.indices, csr.data, csr.shape[0], csr.shape[1]


def _integer(name, value):
    """implicit takes factors=32.0 and iterations=np.int64(5): any integral number."""
    if isinstance(value, bool) or not isinstance(value, _numbers.Real) or value != int(value):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    return int(value)


def _seed(random_state):
    """implicit's random_state: an int, a numpy RandomState / Generator, or None (a fresh seed)."""
    if random_state is None:
        return int(_np.random.randint(0, 2**31 - 1))
    if isinstance(random_state, _np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, _np.random.Generator):
        return int(random_state.integers(0, 2**31 - 1))
    return _integer("random_state", random_state)


def _no_gpu(use_gpu):
    if use_gpu:
        raise ValueError("use_gpu=True: Nudge's models train and score on the CPU (use_gpu=False)")


def _users_array(userid, name="userid"):
    users = _np.atleast_1d(_np.asarray(userid))
    if users.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected integers, got {users.dtype}")
    return users.astype(_np.int64)


def _item_list(items, num_items, name):
    """A sorted array of distinct item indices, each checked against the catalogue."""
    arr = _np.unique(_np.asarray(items, dtype=_np.int64).ravel())
    if arr.size and (arr[0] < 0 or arr[-1] >= num_items):
        raise IndexError(f"{name}: item indices must be from 0 to {num_items - 1}")
    return arr


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
    def fitted(self):
        return self._model.fitted

    @property
    def trained_on_borrowed_arrays(self):
        """Whether the last fit trained on the matrix's own indices and data, not on a copy
        (a CSR matrix whose rows are sorted and free of duplicates, float32 data, int32
        indices; see docs/python.md)."""
        return self._model.trained_on_borrowed_arrays

    @property
    def user_ids(self):
        return self._model.user_ids()

    @property
    def item_ids(self):
        return self._model.item_ids()

    def fit(self, user_items, show_progress=False, callback=None):
        """Trains on a users x items matrix of interaction weights (float32 used as is).
        show_progress is accepted for implicit's signature. callback(epoch, seconds, loss), as
        implicit calls it, runs after each epoch of the kinds trained by epochs (iALS sweeps,
        BPR / SVD / NeuMF / two-tower / SASRec passes; loss None where the kind logs none,
        iALS's); an exception it raises ends the training there and comes out of fit, the
        model left as it was. One-pass kinds (KNN, EASE, popularity) never call it."""
        del show_progress
        self._model.fit(*_csr(user_items, "user_items"), callback=_callback(callback))
        return self

    def fit_sequences(self, sequences, num_items=None):
        """Trains on event sequences: sequences[u] lists user u's item indices, oldest first
        (what sequence models such as Model("sasrec") read; items may repeat)."""
        self._model.fit_sequences([[int(i) for i in s] for s in sequences], -1 if num_items is None else int(num_items))
        return self

    def fit_events(self, users, items, times=None, num_items=None):
        """Trains on events given as arrays: users[k] took items[k] at times[k] (integers or
        floats; ties and a missing times keep the arrays' order, as the CLI keeps a file's).
        For sequence models (Model("sasrec"), Model("transition")) the order is what they read."""
        users = _users_array(users, "users")
        items = _users_array(items, "items")
        if users.shape != items.shape:
            raise ValueError(f"users and items differ in length ({users.size} vs {items.size})")
        if users.size and users.min() < 0:
            raise ValueError("users: negative index")
        position = _np.arange(users.size)
        if times is None:
            order = _np.lexsort((position, users))
        else:
            times = _np.asarray(times)
            if times.shape != users.shape:
                raise ValueError(f"times: {times.size} values for {users.size} events")
            order = _np.lexsort((position, times, users))
        n_users = int(users.max()) + 1 if users.size else 0
        bounds = _np.searchsorted(users[order], _np.arange(n_users + 1))
        sorted_items = items[order]
        return self.fit_sequences([sorted_items[bounds[u]:bounds[u + 1]] for u in range(n_users)], num_items)

    def score_history(self, items):
        """Scores of every item for a history of item indices given oldest first."""
        return self._model.score_history([int(i) for i in items])

    def recommend_history(self, items, N=10, filter_already_liked_items=True):
        """Top N items (indices, scores) for a history given oldest first (a sequence model
        reads its order; the others its items): a user the model has not seen."""
        scores = self.score_history(items).astype(_np.float32)
        if filter_already_liked_items and len(items):
            scores[_np.asarray(items, dtype=_np.int64)] = _np.nan
        ids, best = _top_rows(scores[None, :], _integer("N", N))
        return ids[0], best[0]

    def _rows(self, user_items, users, name="user_items"):
        if user_items is None:
            return (None, None, None)
        if getattr(user_items, "format", "csr") != "csr":
            raise ValueError(f"{name}: expected a CSR matrix (user_items[userid] of a csr_matrix), got "
                             f"{user_items.format.upper()}")
        indptr, indices, data, n_rows, n_cols = _csr(user_items, name, stacklevel=4)
        if n_rows != len(users):
            raise ValueError(f"{name}: {n_rows} rows for {len(users)} users (pass user_items[userid])")
        if n_cols != self._model.num_items:
            raise ValueError(f"{name}: {n_cols} columns for a model of {self._model.num_items} items")
        return (indptr, indices, data)

    def recommend(self, userid, user_items=None, N=10, filter_already_liked_items=True, filter_items=None,
                  recalculate_user=False, items=None):
        """Top N item indices and scores for one user (1-D arrays) or an array of users (2-D).

        user_items holds the users' rows (user_items[userid]): the items to filter, and the
        history a user is folded in from when recalculate_user is set or the user is new. Without
        it, the training rows are used. filter_items are never recommended; items, when given,
        are the only candidates, N is cut to their number and, as in implicit, the liked ones
        come last at -inf. Rows with fewer than N eligible items end in -1 / -inf.
        """
        single = _np.isscalar(userid)
        users = _users_array(userid)
        rows = self._rows(user_items, users)
        if items is not None and filter_items is not None:
            raise ValueError("recommend: give items or filter_items, not both")
        n_items = self._model.num_items
        excluded = _item_list([] if filter_items is None else filter_items, n_items, "filter_items")
        candidates = None if items is None else _item_list(items, n_items, "items")
        ids, scores = self._model.recommend(users, *rows, _integer("N", N), bool(filter_already_liked_items),
                                            bool(recalculate_user), int(self.num_threads),
                                            excluded.astype(_np.int32),
                                            None if candidates is None else candidates.astype(_np.int32))
        if candidates is not None and filter_already_liked_items:
            for row in ids:  # implicit ranks the filtered candidates last rather than leaving them out
                pad = _np.flatnonzero(row < 0)
                if pad.size:
                    liked = _np.setdiff1d(candidates, row[row >= 0])[:pad.size]
                    row[pad[:liked.size]] = liked
        return (ids[0], scores[0]) if single else (ids, scores)

    def score(self, userid):
        """Every item's score for training users (2-D float32, one row per user): the full
        score matrix top-N is taken from, and what the ONNX user graph (nudge export) gives."""
        return self._model.score(_users_array(userid), int(self.num_threads))

    def similar_items(self, itemid, N=10):
        """Up to N items most similar to itemid (itself not included), best first."""
        return self._model.similar_items(int(itemid), int(N))

    @property
    def epoch_losses(self):
        """Mean training loss of each epoch of the last fit (SGD-trained models; else empty)."""
        return self._model.epoch_losses()

    def to_bytes(self):
        """The model file's bytes (what save writes), or for a model not fitted yet its spec."""
        if not self.fitted:
            return _UNFITTED_MAGIC + self.spec.encode()
        with _tempfile.TemporaryDirectory(prefix="nudge-") as work:
            path = _os.path.join(work, "m.nudge")
            self._model.save(path)
            with open(path, "rb") as f:
                return f.read()

    def save(self, fileobj_or_path):
        """Writes the model file to a path (atomically) or a binary file object. The CLI reads
        the file (nudge recommend --model-file); a model not fitted yet saves its parameters."""
        if hasattr(fileobj_or_path, "write"):
            fileobj_or_path.write(self.to_bytes())
        elif self.fitted:
            self._model.save(_os.fspath(fileobj_or_path))
        else:
            with open(fileobj_or_path, "wb") as f:
                f.write(self.to_bytes())

    @classmethod
    def load(cls, fileobj_or_path):
        """A model from save / `nudge train -o`: a path or a binary file object. On a class
        other than Model, the file must hold that class's kind."""
        if hasattr(fileobj_or_path, "read"):
            data, source = fileobj_or_path.read(), getattr(fileobj_or_path, "name", "<file object>")
        else:
            source = _os.fspath(fileobj_or_path)
            with open(source, "rb") as f:
                data = f.read()
        return cls._from_bytes(bytes(data), str(source))

    @classmethod
    def _from_bytes(cls, data, source):
        if data.startswith(_UNFITTED_MAGIC):
            compiled = _nudge.Model(data[len(_UNFITTED_MAGIC):].decode())
        else:
            compiled = _nudge.load_bytes(data, source)
        model = cls._wrap(compiled)
        kind = getattr(cls, "_kind", None)
        if kind is not None and compiled.kind not in kind:
            raise ValueError(f"{source}: holds a {compiled.kind} model, not one of {cls.__name__}")
        return model

    def __getstate__(self):
        return {"model": self.to_bytes(), "num_threads": self.num_threads, "extra": self._extra_state()}

    def __setstate__(self, state):
        loaded = type(self)._from_bytes(state["model"], "<pickle>")
        self.__dict__.update(loaded.__dict__)
        self.num_threads = state["num_threads"]
        self._restore_extra_state(state.get("extra") or {})

    def _extra_state(self):
        return {}

    def _restore_extra_state(self, extra):
        del extra

    def export_onnx(self, path, graph="user", int8=False, top_k=0):
        """Writes the model's scorer as an ONNX file, as `nudge export --format onnx` does:
        graph "user" (training users by index) or "history" (iALS fold-in, two-tower tower,
        their fusion); int8 item matrices; top_k > 0 ends the graph in the top k items.
        Inputs, outputs and metadata: docs/formats/onnx.md."""
        self._model.export_onnx(str(path), str(graph), bool(int8), int(top_k))

    def to_cpu(self):
        """implicit's GPU/CPU switch: Nudge's models are always on the CPU."""
        return self

    def to_gpu(self):
        raise NotImplementedError("Nudge has no GPU models")

    def __repr__(self):
        return f"nudge.{type(self).__name__}({self.spec!r})"


def _top_rows(scores, N):
    """Best N columns of each row of `scores` (NaN never chosen), best first; -1 / -inf pad."""
    rows, cols = scores.shape
    n = min(N, cols)
    safe = _np.where(_np.isnan(scores), -_np.inf, scores)
    part = _np.argpartition(-safe, n - 1, axis=1)[:, :n] if n < cols else _np.tile(_np.arange(cols), (rows, 1))
    picked = _np.take_along_axis(safe, part, axis=1)
    order = _np.lexsort((part, -picked), axis=1)  # best score, then lower index
    ids = _np.take_along_axis(part, order, axis=1).astype(_np.int32)
    best = _np.take_along_axis(picked, order, axis=1).astype(_np.float32)
    ids[~_np.isfinite(best) & (best < 0)] = -1
    return ids, best


class _FactorModel(Model):
    """implicit's MatrixFactorizationBase: factor arrays, and similar items / users by the
    cosine of their factors, the query itself first."""

    @property
    def user_factors(self):
        """users x factors float32 (a copy): score = user_factors[u] . item_factors[i]."""
        return self._model.user_factors()

    @property
    def item_factors(self):
        return self._model.item_factors()

    @staticmethod
    def _similar(factors, query, N, filter_ids, ids_subset):
        norms = _np.linalg.norm(factors, axis=1)
        norms[norms == 0] = 1e-10
        q = _np.atleast_2d(query)
        qn = _np.linalg.norm(q, axis=1)
        qn[qn == 0] = 1e-10
        scores = (q @ factors.T) / norms[None, :] / qn[:, None]
        if filter_ids is not None:
            scores[:, filter_ids] = -_np.inf
        if ids_subset is not None:
            ids, best = _top_rows(scores[:, ids_subset], N)
            ids = _np.where(ids >= 0, ids_subset[_np.maximum(ids, 0)], -1).astype(_np.int32)
            return ids, best
        return _top_rows(scores, N)

    def similar_items(self, itemid, N=10, recalculate_item=False, item_users=None, filter_items=None, items=None):
        """The N items whose factors are closest in cosine to itemid's (an int or an array: 2-D
        answers), itemid itself first; filter_items are left out; items, when given, the only
        ones. recalculate_item folds each item in from item_users (ALS; as implicit does)."""
        if filter_items is not None and items is not None:
            raise ValueError("similar_items: give items or filter_items, not both")
        single = _np.isscalar(itemid)
        queried = _users_array(itemid, "itemid")
        n_items = self._model.num_items
        factors = self.item_factors
        if recalculate_item:
            if item_users is None:
                raise ValueError("similar_items: recalculate_item needs item_users (one row of users per item)")
            query = _np.atleast_2d(self.recalculate_item(queried, item_users))
        else:
            if queried.size and (queried.min() < 0 or queried.max() >= n_items):
                raise IndexError(f"itemid: item indices must be from 0 to {n_items - 1}")
            query = factors[queried]
        filter_ids = None if filter_items is None else _item_list(filter_items, n_items, "filter_items")
        subset = None if items is None else _item_list(items, n_items, "items")
        ids, scores = self._similar(factors, query, _integer("N", N), filter_ids, subset)
        return (ids[0], scores[0]) if single else (ids, scores)

    def similar_users(self, userid, N=10, filter_users=None, users=None):
        """The N users whose factors are closest in cosine to userid's, userid itself first."""
        if filter_users is not None and users is not None:
            raise ValueError("similar_users: give users or filter_users, not both")
        single = _np.isscalar(userid)
        queried = _users_array(userid)
        n_users = self._model.num_users
        if queried.size and (queried.min() < 0 or queried.max() >= n_users):
            raise IndexError(f"userid: user indices must be from 0 to {n_users - 1}")
        factors = self.user_factors
        filter_ids = None if filter_users is None else _item_list(filter_users, n_users, "filter_users")
        subset = None if users is None else _item_list(users, n_users, "users")
        ids, scores = self._similar(factors, factors[queried], _integer("N", N), filter_ids, subset)
        return (ids[0], scores[0]) if single else (ids, scores)


def _spec_number(spec, key, default):
    """A parameter's value in a spec ("ials:factors=8,alpha=2" -> alpha 2.0)."""
    for part in spec.partition(":")[2].split(","):
        name, _, value = part.partition("=")
        if name == key:
            return float(value)
    return default


class AlternatingLeastSquares(_FactorModel):
    """iALS (Hu, Koren & Volinsky 2008) with implicit's parameters: confidence alpha * weight
    (Model("ials") uses 1 + alpha * weight), plain regularization, 3 conjugate-gradient steps
    (use_cg=False: an exact solve per row).

    implicit's confidence alpha * w is Nudge's 1 + alpha * w' for w' = w - 1 / alpha: rows are
    shifted so on the way in (fit, fold-in), and the model file holds the shifted weights. Both
    need alpha * w >= 1 (implicit would give such an item less weight than an unseen one)."""

    _kind = ("ials",)

    def _shifted(self, matrix, name):
        indptr, indices, data, rows, cols = _csr(matrix, name, stacklevel=5)
        alpha = _spec_number(self.spec, "alpha", 1.0)
        if alpha <= 0:
            raise ValueError("alpha: must be > 0 (the confidence of an observed item is alpha * weight)")
        shifted = data.astype(_np.float32) - _np.float32(1.0 / alpha)
        low = _np.flatnonzero(shifted < -1e-6)
        if low.size:
            raise ValueError(f"{name}.data[{low[0]}]: alpha * weight = {alpha * float(data[low[0]]):g} < 1; "
                             "Nudge's ALS needs every observed item at least an unseen item's confidence "
                             "(raise alpha or the weights)")
        return indptr, indices, _np.maximum(shifted, 0), rows, cols

    def fit(self, user_items, show_progress=True, callback=None):
        """Factorizes user_items (users x items, CSR), confidence alpha * weight."""
        del show_progress
        self._model.fit(*self._shifted(user_items, "user_items"), callback=_callback(callback))
        return self

    def _rows(self, user_items, users, name="user_items"):
        if user_items is None:
            return (None, None, None)
        if getattr(user_items, "format", "csr") != "csr":
            raise ValueError(f"{name}: expected a CSR matrix (user_items[userid] of a csr_matrix), got "
                             f"{user_items.format.upper()}")
        indptr, indices, data, n_rows, n_cols = self._shifted(user_items, name)
        if n_rows != len(users):
            raise ValueError(f"{name}: {n_rows} rows for {len(users)} users (pass user_items[userid])")
        if n_cols != self._model.num_items:
            raise ValueError(f"{name}: {n_cols} columns for a model of {self._model.num_items} items")
        return (indptr, indices, data)

    def __init__(self, factors=100, regularization=0.01, alpha=1.0, dtype=_np.float32, use_native=True, use_cg=True,
                 iterations=15, calculate_training_loss=False, num_threads=0, random_state=None, use_gpu=False):
        _no_gpu(use_gpu)
        if _np.dtype(dtype) != _np.float32:
            raise ValueError("dtype: Nudge's factors are float32")
        del use_native  # always native
        params = dict(factors=_integer("factors", factors), regularization=float(regularization), alpha=float(alpha),
                      iterations=_integer("iterations", iterations), cg_steps=3 if use_cg else 0,
                      seed=_seed(random_state), num_threads=_integer("num_threads", num_threads))
        if calculate_training_loss:  # the callback's loss: implicit's, per unit of confidence
            params["training_loss"] = True
        super().__init__("ials", **params)

    def recalculate_user(self, userid, user_items):
        """The factors userid would get from user_items (one row per user), not stored."""
        users = _users_array(userid)
        indptr, indices, data, n_rows, n_cols = self._shifted(user_items, "user_items")
        if n_rows != len(users) or n_cols != self._model.num_items:
            raise ValueError(f"user_items: shape ({n_rows}, {n_cols}), expected ({len(users)}, "
                             f"{self._model.num_items}): one row per user")
        out = self._model.fold_in_users(indptr, indices, data)
        return out[0] if _np.isscalar(userid) else out

    def _confidence(self, shifted):
        """Nudge's 1 + alpha * w' of shifted weights: implicit's alpha * w."""
        return 1.0 + _spec_number(self.spec, "alpha", 1.0) * shifted.astype(_np.float64)

    def _normal_matrix(self, gram, y, c):
        """The least-squares matrix of one row observed at the rows y of the other side with
        confidences c, as IalsModel solves it: gram + lambda (1 + n)^nu I + y' (C - I) y."""
        reg = _spec_number(self.spec, "regularization", 0.01) * (1.0 + len(c)) ** _spec_number(self.spec,
                                                                                              "reg_exponent", 0.0)
        return gram + reg * _np.eye(gram.shape[0]) + y.T @ ((c - 1.0)[:, None] * y)

    def recalculate_item(self, itemid, item_users):
        """The factors itemid would get from item_users (one row of users per item), not
        stored: the item side's least-squares solve against the user factors."""
        items = _users_array(itemid, "itemid")
        indptr, indices, data, n_rows, n_cols = self._shifted(item_users, "item_users")
        if n_rows != len(items) or n_cols != self._model.num_users:
            raise ValueError(f"item_users: shape ({n_rows}, {n_cols}), expected ({len(items)}, "
                             f"{self._model.num_users}): one row per item")
        users = self.user_factors.astype(_np.float64)
        gram = users.T @ users
        out = _np.zeros((len(items), users.shape[1]), dtype=_np.float32)
        for r in range(len(items)):  # as IalsModel::fold_in, with the sides swapped
            if indptr[r + 1] == indptr[r]:
                continue
            y, c = users[indices[indptr[r]:indptr[r + 1]]], self._confidence(data[indptr[r]:indptr[r + 1]])
            out[r] = _np.linalg.solve(self._normal_matrix(gram, y, c), y.T @ c)
        return out[0] if _np.isscalar(itemid) else out

    def explain(self, userid, user_items, itemid, user_weights=None, N=10):
        """implicit's explain (Hu, Koren & Volinsky 2008, section 5): itemid's score for the user
        of `user_items` (their row, or a matrix whose row userid is used) as a sum over the
        user's items j of c_uj * y_i' W y_j, W the inverse of the fold-in's normal matrix.
        Returns (score, the N largest (itemid, contribution) pairs, user_weights: the Cholesky
        factor of W's inverse, which a next call for the same user may pass back)."""
        row = user_items if user_items.shape[0] == 1 else user_items[int(userid)]
        indptr, indices, data, _, n_cols = self._shifted(row, "user_items")
        if n_cols != self._model.num_items:
            raise ValueError(f"user_items: {n_cols} columns for a model of {self._model.num_items} items")
        if not 0 <= int(itemid) < self._model.num_items:
            raise IndexError(f"itemid: {itemid} is not an item of the model (0..{self._model.num_items - 1})")
        items = self.item_factors.astype(_np.float64)
        liked = indices[indptr[0]:indptr[1]]
        y, c = items[liked], self._confidence(data[indptr[0]:indptr[1]])
        if user_weights is None:
            user_weights = _np.linalg.cholesky(self._normal_matrix(items.T @ items, y, c))
        import scipy.linalg
        weighted = scipy.linalg.cho_solve((user_weights, True), items[int(itemid)])
        contributions = c * (y @ weighted)
        top = _np.argsort(-contributions, kind="stable")[:N]
        return (float(contributions.sum()), [(int(liked[k]), float(contributions[k])) for k in top], user_weights)

    def partial_fit_users(self, userids, user_items):
        """Re-solves the factors of userids from user_items (one row each) and stores them;
        indices past the training users grow the model (users between get zero factors)."""
        users = _users_array(userids)
        if user_items.shape[0] != len(users):
            raise ValueError("user_items must contain 1 row for every user in userids")
        vectors = self.recalculate_user(users, user_items)
        factors = self.user_factors
        if users.size and users.max() >= factors.shape[0]:
            factors = _np.vstack([factors, _np.zeros((users.max() + 1 - factors.shape[0], factors.shape[1]),
                                                     dtype=_np.float32)])
        factors[users] = vectors
        self._model.set_factors(factors, self.item_factors)

    def partial_fit_items(self, itemids, item_users):
        """Re-solves the factors of itemids from item_users (one row of users each) and stores
        them; indices past the catalogue grow it."""
        items = _users_array(itemids, "itemids")
        if item_users.shape[0] != len(items):
            raise ValueError("item_users must contain 1 row for every item in itemids")
        vectors = self.recalculate_item(items, item_users)
        factors = self.item_factors
        if items.size and items.max() >= factors.shape[0]:
            factors = _np.vstack([factors, _np.zeros((items.max() + 1 - factors.shape[0], factors.shape[1]),
                                                     dtype=_np.float32)])
        factors[items] = vectors
        self._model.set_factors(self.user_factors, factors)


class BayesianPersonalizedRanking(_FactorModel):
    """BPR-MF (Rendle et al. 2009) with implicit's parameters; iterations are epochs. Its
    factor arrays carry the item bias as implicit's do: item_factors' last column is the
    bias, user_factors' last is 1."""

    _kind = ("bpr",)

    def __init__(self, factors=100, learning_rate=0.01, regularization=0.01, dtype=_np.float32, iterations=100,
                 verify_negative_samples=True, random_state=None, num_threads=0, use_gpu=False):
        _no_gpu(use_gpu)
        if _np.dtype(dtype) != _np.float32:
            raise ValueError("dtype: Nudge's factors are float32")
        del verify_negative_samples  # Nudge always samples items the user has not seen
        super().__init__("bpr", factors=_integer("factors", factors), learning_rate=float(learning_rate),
                         regularization=float(regularization), epochs=_integer("iterations", iterations),
                         seed=_seed(random_state), num_threads=_integer("num_threads", num_threads))

    def recommend(self, userid, user_items=None, N=10, filter_already_liked_items=True, filter_items=None,
                  recalculate_user=False, items=None):
        if recalculate_user:
            raise NotImplementedError("recalculate_user is not supported with this model")  # as in implicit
        return super().recommend(userid, user_items, N, filter_already_liked_items, filter_items, False, items)

    def recalculate_user(self, userid, user_items):
        raise NotImplementedError("recalculate_user is not supported with this model")

    def recalculate_item(self, itemid, item_users):
        raise NotImplementedError("recalculate_item is not supported with this model")


class _ItemBased(Model):
    """Models that score a user from their row of user_items (item-based: implicit's
    ItemItemRecommender, EASE): the given rows are the history, always."""

    def recommend(self, userid, user_items=None, N=10, filter_already_liked_items=True, filter_items=None,
                  recalculate_user=False, items=None):
        del recalculate_user  # the row is always what the user is scored from
        return super().recommend(userid, user_items, N, filter_already_liked_items, filter_items,
                                 user_items is not None, items)

    def similar_users(self, userid, N=10, filter_users=None, users=None):
        raise NotImplementedError(f"similar_users isn't implemented with {type(self).__name__}")


class ItemItemRecommender(_ItemBased):
    """Item-KNN: each item's K most similar items, a user scored by summing over their row."""

    _kind = ("itemknn",)
    _similarity = "dot"  # implicit's ItemItemRecommender: raw co-occurrence

    def __init__(self, K=20, num_threads=0, **similarity):
        super().__init__("itemknn", neighbours=_integer("K", K), similarity=self._similarity,
                         num_threads=_integer("num_threads", num_threads), **similarity)

    def similar_items(self, itemid, N=10, recalculate_item=False, item_users=None, filter_items=None, items=None):
        """Up to N items most similar to itemid, best first, as implicit's: the item itself
        (its self-similarity: 1 for cosine and TF-IDF) among the neighbours kept by the fit,
        first on a tie; an array of items gives 2-D answers."""
        if recalculate_item:
            raise NotImplementedError("recalculate_item is not supported with this model")
        if filter_items is not None and items is not None:
            raise ValueError("similar_items: give items or filter_items, not both")
        single = _np.isscalar(itemid)
        queried = _users_array(itemid, "itemid")
        n_items = self._model.num_items
        drop = None if filter_items is None else set(_item_list(filter_items, n_items, "filter_items").tolist())
        keep = None if items is None else set(_item_list(items, n_items, "items").tolist())
        N = _integer("N", N)
        ids = _np.full((len(queried), N), -1, dtype=_np.int32)
        scores = _np.full((len(queried), N), -_np.inf, dtype=_np.float32)
        for r, item in enumerate(queried):
            found, found_scores = self._model.similar_items(int(item), n_items)
            ranked = list(zip(found, found_scores))
            itself = self._model.self_similarity(int(item))
            if itself > 0:  # an item nobody took is similar to nothing, itself included
                at = next((k for k, (_, s) in enumerate(ranked) if s <= itself), len(ranked))
                ranked.insert(at, (int(item), itself))
            chosen = [(i, s) for i, s in ranked
                      if (drop is None or i not in drop) and (keep is None or i in keep)][:N]
            for c, (i, s) in enumerate(chosen):
                ids[r, c], scores[r, c] = i, s
        return (ids[0], scores[0]) if single else (ids, scores)


class CosineRecommender(ItemItemRecommender):
    _similarity = "cosine"


class TFIDFRecommender(ItemItemRecommender):
    _similarity = "tfidf"


class BM25Recommender(ItemItemRecommender):
    _similarity = "bm25"

    def __init__(self, K=20, K1=1.2, B=0.75, num_threads=0):
        super().__init__(K=K, num_threads=num_threads, bm25_k1=float(K1), bm25_b=float(B))


class EASE(_ItemBased):
    """EASE (Steck 2019): a closed-form item-item model; user_items rows are the history."""

    _kind = ("ease",)

    def __init__(self, regularization=500.0, num_threads=0, **params):
        super().__init__("ease", regularization=float(regularization), **params)
        self.num_threads = _integer("num_threads", num_threads)  # batch recommend; the fit is one solve


class Popularity(Model):
    _kind = ("popularity",)

    def __init__(self, num_threads=0, **params):
        super().__init__("popularity", **params)
        self.num_threads = _integer("num_threads", num_threads)


def load(fileobj_or_path):
    """A model file written by Model.save or by `nudge train -o` (a path or a binary file
    object), as a nudge.Model with Nudge's meanings."""
    return Model.load(fileobj_or_path)


def evaluate(model, train_user_items, test_user_items, K=10, protocol="full", negatives=100, seed=42):
    """Metrics of a fitted model exactly as `nudge eval --protocol` computes them; K an int or a list.

    protocol="full": every item the user has not trained on is ranked (precision, recall, ndcg,
    hit_rate, mrr, map @K, auc, coverage, ...). "sampled": each test item is ranked among
    `negatives` items the user never touched, drawn with `seed` (NCF's protocol). "rating":
    RMSE and MAE of the predicted ratings against the test values (SVD, SVD++ only)."""
    ks = [int(k) for k in (K if isinstance(K, (list, tuple)) else [K])]
    if protocol == "rating" and not model._model.predicts_ratings:
        raise ValueError(f"protocol='rating': a {model._model.kind} model ranks items and predicts no ratings "
                         "(svd and svdpp do)")
    train = _csr(train_user_items, "train_user_items")
    test = _csr(test_user_items, "test_user_items")
    for name, shape in (("train_user_items", train[3:]), ("test_user_items", test[3:])):
        if tuple(shape) != (model._model.num_users, model._model.num_items):
            raise ValueError(f"{name}: shape {tuple(shape)} differs from the model's "
                             f"({model._model.num_users}, {model._model.num_items})")
    return model._model.evaluate(*train[:3], *test[:3], ks, str(protocol), int(negatives), int(seed))


# LightFM's API (nudge.LightFM, nudge.evaluation): after everything they build on.
from . import evaluation  # noqa: E402
from .lightfm import LightFM  # noqa: E402
