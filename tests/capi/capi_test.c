/* The C API exercised from C: usage: capi_test FLOAT_SNAPSHOT INT8_SNAPSHOT [--print]
 * --print also writes reference lines (fixed queries and their answers) so a cross build's
 * output can be compared with the host's. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nudge/nudge_c.h"

static int passed = 0, failed = 0;
#define CHECK(cond)                                                   \
  do {                                                                \
    if (cond) {                                                       \
      ++passed;                                                       \
    } else {                                                          \
      ++failed;                                                       \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                 \
  } while (0)

enum { K = 10 };

static int contains(const uint32_t* items, size_t n, uint32_t x) {
  for (size_t i = 0; i < n; ++i) {
    if (items[i] == x) return 1;
  }
  return 0;
}

static int sorted_desc(const nudge_scored_item* r, size_t n) {
  for (size_t i = 1; i < n; ++i) {
    if (r[i - 1].score < r[i].score) return 0;
  }
  return 1;
}

struct thread_job {
  const nudge_snapshot* snap;
  nudge_scored_item expect[K];
  int ok;
};

static void* query_many(void* arg) {
  struct thread_job* job = (struct thread_job*)arg;
  const uint32_t hist[3] = {1, 2, 3};
  const float w[3] = {1, 1, 1};
  job->ok = 1;
  for (int rep = 0; rep < 50; ++rep) {
    nudge_scored_item r[K];
    size_t n = 0;
    if (nudge_snapshot_recommend_history(job->snap, hist, w, 3, K, r, &n) != NUDGE_OK || n != K ||
        memcmp(r, job->expect, sizeof r) != 0) {
      job->ok = 0;
    }
  }
  return NULL;
}

static void write_file(const char* path, const void* data, size_t size) {
  FILE* f = fopen(path, "wb");
  if (!f) return;
  fwrite(data, 1, size, f);
  fclose(f);
}

static char* read_all(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *size = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  char* buf = malloc(*size);
  if (buf && fread(buf, 1, *size, f) != *size) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  return buf;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: capi_test FLOAT_SNAPSHOT INT8_SNAPSHOT [--print]\n");
    return 2;
  }
  const int print = argc > 3 && strcmp(argv[3], "--print") == 0;
  nudge_snapshot* fs = NULL;
  nudge_snapshot* qs = NULL;
  CHECK(nudge_snapshot_open(argv[1], NUDGE_OPEN_VERIFY, &fs) == NUDGE_OK);
  CHECK(nudge_snapshot_open(argv[2], NUDGE_OPEN_VERIFY, &qs) == NUDGE_OK);
  if (!fs || !qs) {
    fprintf(stderr, "cannot open snapshots: %s\n", nudge_last_error());
    return 1;
  }
  const uint32_t n_items = nudge_snapshot_num_items(fs);
  CHECK(n_items > 100 && nudge_snapshot_dim(fs) > 0);
  CHECK(!nudge_snapshot_is_int8(fs) && nudge_snapshot_is_int8(qs));

  /* IDs both ways. */
  uint32_t idx = 0;
  char buf[64];
  CHECK(nudge_snapshot_item_index(fs, "i17", &idx) == NUDGE_OK);
  CHECK(nudge_snapshot_item_id(fs, idx, buf, sizeof buf) == 3 && strcmp(buf, "i17") == 0);
  CHECK(nudge_snapshot_item_index(fs, "no-such-item", &idx) == NUDGE_ERR_NOT_FOUND);
  CHECK(strcmp(nudge_last_error(), "unknown item 'no-such-item'") == 0);
  CHECK(nudge_snapshot_item_id(fs, n_items, buf, sizeof buf) == -1);
  CHECK(nudge_snapshot_item_id(fs, 0, buf, 2) == -1);

  /* History fold-in: k results, best first, history excluded. */
  const uint32_t hist[3] = {1, 2, 3};
  const float w[3] = {1, 1, 2};
  nudge_scored_item r[K], r2[K];
  size_t n = 0, n2 = 0;
  CHECK(nudge_snapshot_recommend_history(fs, hist, w, 3, K, r, &n) == NUDGE_OK && n == K);
  CHECK(sorted_desc(r, n));
  for (size_t i = 0; i < n; ++i) CHECK(!contains(hist, 3, r[i].item));
  CHECK(nudge_snapshot_recommend_history(fs, NULL, NULL, 0, K, r2, &n2) == NUDGE_OK && n2 == K); /* popular */
  CHECK(nudge_snapshot_recommend_history(fs, hist, w, 3, 100000, NULL, &n) == NUDGE_ERR_ARGUMENT);

  /* The on-device user learns event by event and matches a one-shot fold-in. */
  nudge_user* user = NULL;
  CHECK(nudge_user_create(fs, &user) == NUDGE_OK);
  CHECK(nudge_user_recommend(user, K, r2, &n2) == NUDGE_OK && n2 == K);
  CHECK(nudge_user_record_event(user, 1, 1) == NUDGE_OK);
  CHECK(nudge_user_record_event(user, 2, 1) == NUDGE_OK);
  CHECK(nudge_user_record_event(user, 3, 1) == NUDGE_OK);
  CHECK(nudge_user_record_event(user, 3, 1) == NUDGE_OK); /* repeat: weight 2, like w */
  CHECK(nudge_user_history_size(user) == 3);
  CHECK(nudge_user_recommend(user, K, r2, &n2) == NUDGE_OK && n2 == K);
  CHECK(memcmp(r, r2, sizeof r) == 0);
  CHECK(nudge_user_record_event(user, n_items, 1) == NUDGE_ERR_ARGUMENT);
  CHECK(nudge_user_record_event(user, 5, NAN) == NUDGE_ERR_ARGUMENT);
  CHECK(strcmp(nudge_last_error(), "history weight 0 is not a finite number >= 0") == 0);
  CHECK(nudge_user_history_size(user) == 3); /* rejected events change nothing */
  nudge_user_free(user);

  /* A user vector directly: the vector of the folded-in user reproduces its answer. */
  float vec[1024];
  CHECK(nudge_snapshot_dim(fs) <= 1024);
  nudge_user_create(fs, &user);
  nudge_user_record_event(user, 1, 1);
  nudge_user_vector(user, vec);
  const uint32_t ex[1] = {1};
  CHECK(nudge_snapshot_recommend_vector(fs, vec, ex, 1, K, r, &n) == NUDGE_OK && n == K);
  CHECK(nudge_user_recommend(user, K, r2, &n2) == NUDGE_OK && memcmp(r, r2, sizeof r) == 0);
  nudge_user_free(user);
  /* A NaN or infinite component is refused, not quantised (found by fuzz_snapshot). */
  const float saved = vec[0];
  vec[0] = NAN;
  CHECK(nudge_snapshot_recommend_vector(fs, vec, NULL, 0, K, r, &n) == NUDGE_ERR_ARGUMENT);
  vec[0] = INFINITY;
  CHECK(nudge_snapshot_recommend_vector(qs, vec, NULL, 0, K, r, &n) == NUDGE_ERR_ARGUMENT);
  CHECK(strstr(nudge_last_error(), "not a finite number") != NULL);
  vec[0] = saved;

  /* Similar items: not the item itself, cosine within [-1, 1]. */
  CHECK(nudge_snapshot_similar(fs, 7, K, r, &n) == NUDGE_OK && n == K);
  for (size_t i = 0; i < n; ++i) CHECK(r[i].item != 7 && r[i].score <= 1.0001f && r[i].score >= -1.0001f);
  CHECK(nudge_snapshot_similar(fs, n_items, K, r, &n) == NUDGE_ERR_ARGUMENT);

  /* int8 agrees with float on most of the top 10. */
  size_t overlap = 0;
  CHECK(nudge_snapshot_recommend_history(fs, hist, w, 3, K, r, &n) == NUDGE_OK);
  CHECK(nudge_snapshot_recommend_history(qs, hist, w, 3, K, r2, &n2) == NUDGE_OK);
  for (size_t i = 0; i < K; ++i) {
    for (size_t j = 0; j < K; ++j) overlap += r[i].item == r2[j].item;
  }
  CHECK(overlap >= 8);

  /* Concurrent readers of one snapshot get the answers a single reader gets. */
  struct thread_job jobs[4];
  pthread_t th[4];
  nudge_snapshot_recommend_history(qs, hist, (const float[]){1, 1, 1}, 3, K, jobs[0].expect, &n);
  for (int t = 0; t < 4; ++t) {
    jobs[t].snap = qs;
    memcpy(jobs[t].expect, jobs[0].expect, sizeof jobs[0].expect);
    pthread_create(&th[t], NULL, query_many, &jobs[t]);
  }
  for (int t = 0; t < 4; ++t) {
    pthread_join(th[t], NULL);
    CHECK(jobs[t].ok);
  }

  /* Bad files: missing, junk, truncated, damaged data. */
  nudge_snapshot* bad = NULL;
  CHECK(nudge_snapshot_open("/nonexistent/snap", 0, &bad) == NUDGE_ERR_IO && bad == NULL);
  char tmp[] = "/tmp/nudge-capi-XXXXXX";
  const char* junk = "this is not a snapshot, just some text that is long enough to fill a header, and more";
  size_t size = 0;
  char* bytes = read_all(argv[1], &size);
  CHECK(bytes != NULL && size > 1024);
  if (bytes && mkdtemp(tmp)) {
    char path[256];
    snprintf(path, sizeof path, "%s/junk", tmp);
    char big[300];
    memset(big, 'x', sizeof big);
    memcpy(big, junk, strlen(junk));
    write_file(path, big, sizeof big);
    CHECK(nudge_snapshot_open(path, 0, &bad) == NUDGE_ERR_CORRUPT);
    CHECK(strstr(nudge_last_error(), "bad magic") != NULL);
    write_file(path, bytes, size - 100);
    CHECK(nudge_snapshot_open(path, 0, &bad) == NUDGE_ERR_CORRUPT);
    CHECK(strstr(nudge_last_error(), "truncated or padded") != NULL);
    bytes[size - 5] ^= 0x55;
    write_file(path, bytes, size);
    CHECK(nudge_snapshot_open(path, NUDGE_OPEN_VERIFY, &bad) == NUDGE_ERR_CORRUPT);
    CHECK(strstr(nudge_last_error(), "data checksum mismatch") != NULL);
    bytes[size - 5] ^= 0x55;
    bytes[20] ^= 0x01; /* num_items in the header */
    write_file(path, bytes, size);
    CHECK(nudge_snapshot_open(path, 0, &bad) == NUDGE_ERR_CORRUPT);
    CHECK(strstr(nudge_last_error(), "header checksum mismatch") != NULL);
    bytes[20] ^= 0x01;
    bytes[8] = 7; /* version */
    write_file(path, bytes, size);
    CHECK(nudge_snapshot_open(path, 0, &bad) == NUDGE_ERR_VERSION);
    remove(path);
    rmdir(tmp);
  }
  free(bytes);

  if (print) {
    /* Reference answers for cross-platform comparison. */
    const nudge_snapshot* snaps[2] = {fs, qs};
    for (int s = 0; s < 2; ++s) {
      for (uint32_t start = 0; start < 40; start += 4) {
        const uint32_t h[4] = {start, start + 1, start + 2, start + 3};
        const float hw[4] = {1, 2, 1, 3};
        nudge_snapshot_recommend_history(snaps[s], h, hw, 4, 5, r, &n);
        printf("ref %s %u:", s ? "int8" : "float", start);
        for (size_t i = 0; i < n; ++i) printf(" %u:%.6g", r[i].item, r[i].score);
        printf("\n");
      }
    }
  }
  nudge_snapshot_free(fs);
  nudge_snapshot_free(qs);
  printf("capi: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
