/* kadrctl's commands, one file each. Each returns 0, a negative code
 * from <kadr/error.h>, or CTL_FOUND_PROBLEMS when it ran but found
 * something wrong (exit status 1 without a second message). */
#ifndef KADR_TOOLS_CTL_H
#define KADR_TOOLS_CTL_H

#include <stdbool.h>

#include <jansson.h>

#include "store.h"

#define CTL_FOUND_PROBLEMS 1

struct ctl {
    const char *data_dir;
    bool json;
    store_t *store;
    store_txn_t *txn; /* a read transaction, for the read commands */
    const char *url;  /* --url: a running kadrd to ask, or NULL */
};

/* Returns whether cmd opens the store itself (rm, verify, repair, gc,
 * compact, volumes) instead of running inside kadrctl's read transaction. */
bool ctl_opens_store(const char *cmd);

/* Opens the store as cmd needs it and runs cmd. */
int ctl_run_own(struct ctl *ctl, const char *cmd, const char *arg);

/* Returns 0 when data_dir contains a store (its index/data.mdb exists), and
 * otherwise prints why not and returns CTL_FOUND_PROBLEMS, so that no
 * command creates a store at a mistyped --data path. */
int ctl_check_store(const char *data_dir);

/* Opens the store for a command: a reader, a reader that may write the
 * index, or the writer (which fails while kadrd runs on the folder). */
enum ctl_access { CTL_READ, CTL_INDEX_WRITE, CTL_WRITER };
int ctl_open(struct ctl *ctl, enum ctl_access access);

int ctl_cmd_rm(struct ctl *ctl, const char *id);
int ctl_cmd_verify(struct ctl *ctl);
int ctl_cmd_repair(struct ctl *ctl);
int ctl_cmd_compact(struct ctl *ctl, const char *volume);
int ctl_cmd_gc(struct ctl *ctl);

/* Asks the kadrd at ctl->url to compact (POST /v1/admin/compact) with the
 * key in KADR_API_KEY, and prints the volumes it compacted. */
int ctl_cmd_compact_remote(struct ctl *ctl, const char *volume);
/* Asks the kadrd at ctl->url to collect garbage (POST /v1/admin/gc): to
 * compact every volume with a dead byte and prune the derivation cache. */
int ctl_cmd_gc_remote(struct ctl *ctl);
int ctl_cmd_volumes(struct ctl *ctl);

/* Prints a JSON value compactly or indented, per --json, and frees it. */
void ctl_print_json(const struct ctl *ctl, json_t *doc);

#endif
