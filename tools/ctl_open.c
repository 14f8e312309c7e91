/* Opening the data folder for the commands that write or scan it, and
 * dispatching them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl.h"

/* Environment variable that makes compact and gc abort() after a step
 * (1 to 4, see store_compact_step), for the crash tests. */
#define CTL_COMPACT_ABORT_ENV "KADR_TEST_COMPACT_ABORT_AFTER"

bool ctl_opens_store(const char *cmd)
{
    static const char *const own[] = {"rm", "verify",  "repair",
                                      "gc", "compact", "volumes"};

    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        if (strcmp(cmd, own[i]) == 0)
            return true;
    }
    return false;
}

static void set_options(store_options_t *opts, enum ctl_access access)
{
    const char *abort_after = getenv(CTL_COMPACT_ABORT_ENV);

    memset(opts, 0, sizeof(*opts));
    opts->read_only = access != CTL_WRITER;
    opts->index_writes = access == CTL_INDEX_WRITE;
    if (abort_after != NULL)
        opts->compact_abort_after = atoi(abort_after);
}

int ctl_check_store(const char *data_dir)
{
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/index/data.mdb", data_dir);

    if (n > 0 && (size_t)n < sizeof(path) && access(path, F_OK) == 0)
        return 0;
    fprintf(stderr,
            "kadrctl: no kadr store in '%s' (%s/index/data.mdb not found): "
            "give --data the folder kadrd uses\n",
            data_dir, data_dir);
    return CTL_FOUND_PROBLEMS;
}

int ctl_open(struct ctl *ctl, enum ctl_access access)
{
    store_options_t opts;
    int rc = ctl_check_store(ctl->data_dir);

    if (rc != 0)
        return rc;
    set_options(&opts, access);
    rc = store_open(ctl->data_dir, &opts, &ctl->store);
    if (rc == -EBUSY && access == CTL_WRITER) {
        fprintf(stderr,
                "kadrctl: kadrd is running on %s: stop it, or ask it with "
                "kadrctl --url http://HOST:PORT compact (or gc), "
                "KADR_API_KEY set to its key\n",
                ctl->data_dir);
        return CTL_FOUND_PROBLEMS;
    }
    if (rc != 0) {
        fprintf(stderr, "kadrctl: cannot open '%s': %s\n", ctl->data_dir,
                kadr_strerror(rc));
        return CTL_FOUND_PROBLEMS;
    }
    return 0;
}

static enum ctl_access access_for(const char *cmd)
{
    if (strcmp(cmd, "rm") == 0 || strcmp(cmd, "repair") == 0)
        return CTL_INDEX_WRITE;
    if (strcmp(cmd, "gc") == 0 || strcmp(cmd, "compact") == 0)
        return CTL_WRITER;
    return CTL_READ;
}

static int dispatch(struct ctl *ctl, const char *cmd, const char *arg)
{
    if (strcmp(cmd, "rm") == 0)
        return ctl_cmd_rm(ctl, arg);
    if (strcmp(cmd, "verify") == 0)
        return ctl_cmd_verify(ctl);
    if (strcmp(cmd, "repair") == 0)
        return ctl_cmd_repair(ctl);
    if (strcmp(cmd, "gc") == 0)
        return ctl_cmd_gc(ctl);
    if (strcmp(cmd, "compact") == 0)
        return ctl_cmd_compact(ctl, arg);
    return ctl_cmd_volumes(ctl);
}

int ctl_run_own(struct ctl *ctl, const char *cmd, const char *arg)
{
    int rc;

    if (ctl->url != NULL && strcmp(cmd, "compact") == 0)
        return ctl_cmd_compact_remote(ctl, arg);
    if (ctl->url != NULL && strcmp(cmd, "gc") == 0)
        return ctl_cmd_gc_remote(ctl);
    if (ctl->url != NULL) {
        fprintf(stderr, "kadrctl: --url works with compact and gc only\n");
        return KADR_E_BAD_INPUT;
    }
    rc = ctl_open(ctl, access_for(cmd));
    if (rc != 0)
        return rc;
    rc = dispatch(ctl, cmd, arg);
    store_close(ctl->store);
    ctl->store = NULL;
    return rc;
}

void ctl_print_json(const struct ctl *ctl, json_t *doc)
{
    json_dumpf(doc, stdout, ctl->json ? JSON_COMPACT : JSON_INDENT(2));
    putchar('\n');
    json_decref(doc);
}
