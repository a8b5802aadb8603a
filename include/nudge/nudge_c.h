/* nudge_c.h: the embedded inference core's C API.
 *
 * Loads a compact model snapshot (written by `nudge export`) by memory-mapping it, and
 * answers top-k for a user vector or an item history (fold-in on the device), keeps an
 * on-device user that learns from each recorded event, and finds similar items. Item
 * vectors may be float32 or int8 with a per-row scale (~4x smaller).
 *
 * Conventions
 * - Opaque handles with create/free pairs; every fallible call returns NUDGE_OK (0) or an
 *   error code, and nudge_last_error() gives this thread's last message.
 * - No exceptions cross this boundary and there is no shared mutable global state.
 * - Thread-safety: a nudge_snapshot is immutable once open; any number of threads may query
 *   it at once. A nudge_user is not thread-safe: use one per thread (or lock). The snapshot
 *   must outlive the users created from it.
 * - Items are dense indices 0..num_items-1; nudge_snapshot_item_index/_item_id map to and
 *   from the external IDs.
 */
/* C naming (snake_case types, UPPER_CASE constants), not the C++ house style. */
/* NOLINTBEGIN(readability-identifier-naming) */
#ifndef NUDGE_C_H_
#define NUDGE_C_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum nudge_status {
  NUDGE_OK = 0,
  NUDGE_ERR_IO = 1,        /* cannot open / map the file */
  NUDGE_ERR_CORRUPT = 2,   /* truncated, bad magic, bad checksum, inconsistent sizes */
  NUDGE_ERR_VERSION = 3,   /* a snapshot version this build does not read */
  NUDGE_ERR_ARGUMENT = 4,  /* NULL pointer, index out of range, NaN weight, ... */
  NUDGE_ERR_NOT_FOUND = 5, /* unknown item ID */
  NUDGE_ERR_NO_MEMORY = 6,
  NUDGE_ERR_INTERNAL = 7 /* a bug in the core, caught at the API boundary (see nudge_last_error) */
};

/* Flags for nudge_snapshot_open. */
#define NUDGE_OPEN_VERIFY 1u /* also check the data checksum (reads the whole file once) */

typedef struct nudge_snapshot nudge_snapshot;
typedef struct nudge_user nudge_user;

typedef struct {
  uint32_t item;
  float score;
} nudge_scored_item;

/* This thread's last error message ("" when none). Valid until this thread's next call. */
const char* nudge_last_error(void);

/* Opens and validates a snapshot: header checksum, sizes and section bounds, in O(1)
 * (plus a full data checksum with NUDGE_OPEN_VERIFY). *out is NULL on error. */
int nudge_snapshot_open(const char* path, unsigned flags, nudge_snapshot** out);
void nudge_snapshot_free(nudge_snapshot* snapshot);

uint32_t nudge_snapshot_num_items(const nudge_snapshot* snapshot);
uint32_t nudge_snapshot_dim(const nudge_snapshot* snapshot);
int nudge_snapshot_is_int8(const nudge_snapshot* snapshot);

/* External ID <-> index. item_index returns NUDGE_OK and the index, or NUDGE_ERR_NOT_FOUND for an
 * unknown ID. item_id copies the ID into `buf` (`buf_size` bytes, room for the ID and a
 * terminating NUL) and returns its length, or -1 for an index out of range, a NULL argument
 * or a buffer too small (nudge_last_error says which). */
int nudge_snapshot_item_index(const nudge_snapshot* snapshot, const char* id, uint32_t* index);
int nudge_snapshot_item_id(const nudge_snapshot* snapshot, uint32_t index, char* buf, size_t buf_size);

/* Top-k for a user vector of nudge_snapshot_dim floats, skipping `exclude` (any order).
 * Writes up to k results to `out` (best first) and their count to *n_out. */
int nudge_snapshot_recommend_vector(const nudge_snapshot* snapshot, const float* user_vector, const uint32_t* exclude,
                                    size_t n_exclude, size_t k, nudge_scored_item* out, size_t* n_out);

/* Top-k for a history of items with weights (fold-in: the least-squares user vector, as
 * iALS computes it), excluding the history. An empty history gives the most popular items. */
int nudge_snapshot_recommend_history(const nudge_snapshot* snapshot, const uint32_t* items, const float* weights,
                                     size_t n, size_t k, nudge_scored_item* out, size_t* n_out);

/* Up to k items most similar to `item` by cosine of their vectors (not the item itself). */
int nudge_snapshot_similar(const nudge_snapshot* snapshot, uint32_t item, size_t k, nudge_scored_item* out,
                           size_t* n_out);

/* An on-device user: a history that each recorded event extends (a repeated item adds to
 * its weight), with the user vector re-folded at once so the next answer reflects it. */
int nudge_user_create(const nudge_snapshot* snapshot, nudge_user** out);
void nudge_user_free(nudge_user* user);
int nudge_user_record_event(nudge_user* user, uint32_t item, float weight);
int nudge_user_recommend(const nudge_user* user, size_t k, nudge_scored_item* out, size_t* n_out);
/* The current user vector (dim floats) into `vector`. */
int nudge_user_vector(const nudge_user* user, float* vector);
size_t nudge_user_history_size(const nudge_user* user);

#ifdef __cplusplus
}
#endif

#endif /* NUDGE_C_H_ */
/* NOLINTEND(readability-identifier-naming) */
