// The C API over EmbeddedSnapshot: argument checks, error codes and messages; nothing
// throws across it (allocation failures become NUDGE_ERR_NO_MEMORY).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <string>
#include <unordered_map>

#include "embedded_snapshot.h"
#include "nudge/nudge_c.h"

struct nudge_snapshot {
  std::unique_ptr<nudge::embed::EmbeddedSnapshot> impl;
};

struct nudge_user {
  const nudge::embed::EmbeddedSnapshot* snapshot;
  std::vector<uint32_t> items;
  std::vector<float> weights;
  std::unordered_map<uint32_t, size_t> position;  // item -> index in items
  std::vector<float> vector;
};

namespace {

thread_local std::string t_error;

int fail(int code, std::string message) {
  t_error = std::move(message);
  return code;
}

template <typename Fn>
int guarded(Fn&& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return fail(NUDGE_ERR_NO_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(NUDGE_ERR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(NUDGE_ERR_INTERNAL, "internal error: unknown exception");
  }
}

int copy_out(const std::vector<nudge_scored_item>& result, nudge_scored_item* out, size_t* n_out) {
  std::copy(result.begin(), result.end(), out);
  *n_out = result.size();
  return NUDGE_OK;
}

int check_items(const nudge::embed::EmbeddedSnapshot& s, const uint32_t* items, const float* weights, size_t n) {
  for (size_t k = 0; k < n; ++k) {
    if (items[k] >= s.num_items()) {
      return fail(NUDGE_ERR_ARGUMENT, "history item " + std::to_string(items[k]) + " out of range (" +
                                          std::to_string(s.num_items()) + " items)");
    }
    if (weights && !(std::isfinite(weights[k]) && weights[k] >= 0.f)) {
      return fail(NUDGE_ERR_ARGUMENT, "history weight " + std::to_string(k) + " is not a finite number >= 0");
    }
  }
  return NUDGE_OK;
}

// The ID of item `index` into `buf`, NUL-terminated; its length, or -1 (with the error set).
int copy_item_id(const nudge_snapshot* s, uint32_t index, char* buf, size_t buf_size) {
  if (!s || !buf || buf_size == 0) {
    fail(NUDGE_ERR_ARGUMENT, "nudge_snapshot_item_id: NULL argument");
    return -1;
  }
  if (index >= s->impl->num_items()) {
    fail(NUDGE_ERR_ARGUMENT, "item index " + std::to_string(index) + " out of range");
    return -1;
  }
  const std::string_view id = s->impl->item_id(index);
  if (id.size() + 1 > buf_size) {
    fail(NUDGE_ERR_ARGUMENT,
         "buffer of " + std::to_string(buf_size) + " bytes too small for an ID of " + std::to_string(id.size()));
    return -1;
  }
  if (!id.empty()) std::memcpy(buf, id.data(), id.size());  // a damaged ID is an empty view with no data
  buf[id.size()] = '\0';
  return static_cast<int>(id.size());
}

}  // namespace

extern "C" {

const char* nudge_last_error(void) { return t_error.c_str(); }

int nudge_snapshot_open(const char* path, unsigned flags, nudge_snapshot** out) {
  if (!out) return fail(NUDGE_ERR_ARGUMENT, "nudge_snapshot_open: out is NULL");
  *out = nullptr;
  if (!path) return fail(NUDGE_ERR_ARGUMENT, "nudge_snapshot_open: path is NULL");
  return guarded([&]() -> int {
    auto handle = std::make_unique<nudge_snapshot>();
    std::string error;
    const int rc = nudge::embed::EmbeddedSnapshot::open(path, flags, &handle->impl, &error);
    if (rc != NUDGE_OK) return fail(rc, error);
    *out = handle.release();
    return NUDGE_OK;
  });
}

void nudge_snapshot_free(nudge_snapshot* snapshot) { delete snapshot; }

uint32_t nudge_snapshot_num_items(const nudge_snapshot* s) { return s ? s->impl->num_items() : 0; }
uint32_t nudge_snapshot_dim(const nudge_snapshot* s) { return s ? s->impl->dim() : 0; }
int nudge_snapshot_is_int8(const nudge_snapshot* s) { return s && s->impl->is_int8() ? 1 : 0; }

int nudge_snapshot_item_index(const nudge_snapshot* s, const char* id, uint32_t* index) {
  if (!s || !id || !index) return fail(NUDGE_ERR_ARGUMENT, "nudge_snapshot_item_index: NULL argument");
  return guarded([&]() -> int {
    if (!s->impl->find_item(id, index)) return fail(NUDGE_ERR_NOT_FOUND, std::string("unknown item '") + id + "'");
    return NUDGE_OK;
  });
}

int nudge_snapshot_item_id(const nudge_snapshot* s, uint32_t index, char* buf, size_t buf_size) {
  int length = -1;
  // Error messages allocate: the guard keeps even bad_alloc inside the boundary.
  guarded([&]() -> int {
    length = copy_item_id(s, index, buf, buf_size);
    return NUDGE_OK;
  });
  return length;
}

int nudge_snapshot_recommend_vector(const nudge_snapshot* s, const float* user_vector, const uint32_t* exclude,
                                    size_t n_exclude, size_t k, nudge_scored_item* out, size_t* n_out) {
  if (!s || !user_vector || !out || !n_out || (n_exclude && !exclude)) {
    return fail(NUDGE_ERR_ARGUMENT, "nudge_snapshot_recommend_vector: NULL argument");
  }
  for (uint32_t d = 0; d < s->impl->dim(); ++d) {
    if (!std::isfinite(user_vector[d])) {
      return fail(NUDGE_ERR_ARGUMENT, "user vector component " + std::to_string(d) + " is not a finite number");
    }
  }
  return guarded([&]() -> int {
    std::vector<uint32_t> ex(exclude, exclude + n_exclude);
    std::sort(ex.begin(), ex.end());
    std::vector<nudge_scored_item> result;
    s->impl->top_k(user_vector, ex, k, &result);
    return copy_out(result, out, n_out);
  });
}

int nudge_snapshot_recommend_history(const nudge_snapshot* s, const uint32_t* items, const float* weights, size_t n,
                                     size_t k, nudge_scored_item* out, size_t* n_out) {
  if (!s || !out || !n_out || (n && (!items || !weights))) {
    return fail(NUDGE_ERR_ARGUMENT, "nudge_snapshot_recommend_history: NULL argument");
  }
  if (int rc = check_items(*s->impl, items, weights, n); rc != NUDGE_OK) return rc;
  return guarded([&]() -> int {
    std::vector<uint32_t> ex(items, items + n);
    std::sort(ex.begin(), ex.end());
    std::vector<nudge_scored_item> result;
    if (n == 0) {
      s->impl->top_popular(ex, k, &result);
    } else {
      std::vector<float> user(s->impl->dim());
      if (!s->impl->fold_in(items, weights, n, user.data()))
        return fail(NUDGE_ERR_CORRUPT, "fold-in system is singular");
      s->impl->top_k(user.data(), ex, k, &result);
    }
    return copy_out(result, out, n_out);
  });
}

int nudge_snapshot_similar(const nudge_snapshot* s, uint32_t item, size_t k, nudge_scored_item* out, size_t* n_out) {
  if (!s || !out || !n_out) return fail(NUDGE_ERR_ARGUMENT, "nudge_snapshot_similar: NULL argument");
  if (item >= s->impl->num_items())
    return fail(NUDGE_ERR_ARGUMENT, "item index " + std::to_string(item) + " out of range");
  return guarded([&]() -> int {
    std::vector<nudge_scored_item> result;
    s->impl->similar(item, k, &result);
    return copy_out(result, out, n_out);
  });
}

int nudge_user_create(const nudge_snapshot* s, nudge_user** out) {
  if (!out) return fail(NUDGE_ERR_ARGUMENT, "nudge_user_create: out is NULL");
  *out = nullptr;
  if (!s) return fail(NUDGE_ERR_ARGUMENT, "nudge_user_create: snapshot is NULL");
  return guarded([&]() -> int {
    auto u = std::make_unique<nudge_user>();
    u->snapshot = s->impl.get();
    u->vector.assign(s->impl->dim(), 0.f);
    *out = u.release();
    return NUDGE_OK;
  });
}

void nudge_user_free(nudge_user* user) { delete user; }

int nudge_user_record_event(nudge_user* u, uint32_t item, float weight) {
  if (!u) return fail(NUDGE_ERR_ARGUMENT, "nudge_user_record_event: user is NULL");
  if (int rc = check_items(*u->snapshot, &item, &weight, 1); rc != NUDGE_OK) return rc;
  return guarded([&]() -> int {
    auto [it, inserted] = u->position.try_emplace(item, u->items.size());
    if (inserted) {
      u->items.push_back(item);
      u->weights.push_back(weight);
    } else {
      u->weights[it->second] += weight;
    }
    std::vector<float> next(u->vector.size());
    if (!u->snapshot->fold_in(u->items.data(), u->weights.data(), u->items.size(), next.data())) {
      return fail(NUDGE_ERR_CORRUPT, "fold-in system is singular");
    }
    u->vector.swap(next);
    return NUDGE_OK;
  });
}

int nudge_user_recommend(const nudge_user* u, size_t k, nudge_scored_item* out, size_t* n_out) {
  if (!u || !out || !n_out) return fail(NUDGE_ERR_ARGUMENT, "nudge_user_recommend: NULL argument");
  return guarded([&]() -> int {
    std::vector<uint32_t> ex = u->items;
    std::sort(ex.begin(), ex.end());
    std::vector<nudge_scored_item> result;
    if (u->items.empty()) u->snapshot->top_popular(ex, k, &result);
    else u->snapshot->top_k(u->vector.data(), ex, k, &result);
    return copy_out(result, out, n_out);
  });
}

int nudge_user_vector(const nudge_user* u, float* vector) {
  if (!u || !vector) return fail(NUDGE_ERR_ARGUMENT, "nudge_user_vector: NULL argument");
  std::copy(u->vector.begin(), u->vector.end(), vector);
  return NUDGE_OK;
}

size_t nudge_user_history_size(const nudge_user* u) { return u ? u->items.size() : 0; }

}  // extern "C"
