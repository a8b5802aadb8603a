/* embed_demo: the embedded core in a few lines of C.
 * Usage: embed_demo SNAPSHOT ITEM_ID...
 * Opens a snapshot, records the given items as one user's events, prints the top 5, and
 * reports the time per recommendation and the peak resident memory. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nudge/nudge_c.h"

/* A "Name:  123 kB" line of /proc/self/status, in KiB (-1 when absent). */
static long status_kib(const char* name) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  const size_t len = strlen(name);
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, name, len) == 0 && line[len] == ':') sscanf(line + len + 1, "%ld", &kib);
  }
  if (f) fclose(f);
  return kib;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: embed_demo SNAPSHOT ITEM_ID...\n");
    return 2;
  }
  nudge_snapshot* snap = NULL;
  if (nudge_snapshot_open(argv[1], 0, &snap) != NUDGE_OK) {
    fprintf(stderr, "embed_demo: %s\n", nudge_last_error());
    return 1;
  }
  nudge_user* user = NULL;
  nudge_user_create(snap, &user);
  for (int a = 2; a < argc; ++a) {
    uint32_t item;
    if (nudge_snapshot_item_index(snap, argv[a], &item) != NUDGE_OK ||
        nudge_user_record_event(user, item, 1.0f) != NUDGE_OK) {
      fprintf(stderr, "embed_demo: %s\n", nudge_last_error());
      return 1;
    }
  }
  nudge_scored_item top[5];
  size_t n = 0;
  struct timespec t0, t1;
  const int reps = 50;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int r = 0; r < reps; ++r) nudge_user_recommend(user, 5, top, &n);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  const double ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) / reps;
  printf("%u items x %u dims (%s); history of %zu items\n", nudge_snapshot_num_items(snap), nudge_snapshot_dim(snap),
         nudge_snapshot_is_int8(snap) ? "int8" : "float32", nudge_user_history_size(user));
  for (size_t i = 0; i < n; ++i) {
    char id[128];
    nudge_snapshot_item_id(snap, top[i].item, id, sizeof id);
    printf("  %zu. %-12s %.4f\n", i + 1, id, top[i].score);
  }
  printf("top-5: %.3f ms per call; peak RSS %ld KiB (now: %ld KiB mapped file, %ld KiB anonymous)\n", ms,
         status_kib("VmHWM"), status_kib("RssFile"), status_kib("RssAnon"));
  nudge_user_free(user);
  nudge_snapshot_free(snap);
  return n == 5 ? 0 : 1;
}
