/* kadrctl: the operator's tool. It opens the data folder's index as a
 * reader beside a running kadrd, or alone. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl_token.h"
#include "format.h"
#include "media.h"
#include "store.h"

#include "ctl.h"

static void print_usage(FILE *out)
{
    fputs("usage: kadrctl --data DIR [--json] COMMAND [ARG]\n\n"
          "Commands:\n"
          "  stat        blobs, media, live and dead bytes, volumes\n"
          "  ls          one line per media record\n"
          "  show ID     one media record\n"
          "  volumes     one line per volume: size, live and dead bytes\n"
          "  rm ID       delete a media record and drop its references\n"
          "              (works beside a running kadrd)\n"
          "  verify      re-hash every needle and check refcounts;\n"
          "              exit status 1 if anything is wrong\n"
          "  repair      verify, and set refcounts that differ from the\n"
          "              references (works beside a running kadrd)\n"
          "  compact [VOLUME]\n"
          "              rewrite volumes at least 50% dead, or one volume\n"
          "              (needs kadrd stopped, or --url)\n"
          "  gc          compact every volume with dead bytes and prune the\n"
          "              derivation cache (needs kadrd stopped, or --url)\n"
          "  token ...   mint an access token (kadrctl token --help)\n\n"
          "Options:\n"
          "  --data DIR  the data folder kadrd uses (default: ./data)\n"
          "  --json      print JSON instead of text\n"
          "  --url URL   with compact or gc: ask the kadrd at\n"
          "              http://HOST:PORT to do it (POST /v1/admin/compact\n"
          "              or /v1/admin/gc) with the key in the KADR_API_KEY\n"
          "              environment variable\n"
          "  --help      print this help\n",
          out);
}

static int cmd_stat(struct ctl *ctl)
{
    store_stats_t st;
    int rc = store_get_stats(ctl->txn, &st);

    if (rc != 0)
        return rc;
    if (ctl->json) {
        printf("{\"blobs\":%llu,\"media\":%llu,\"jobs\":%llu,"
               "\"live_bytes\":%llu,\"dead_bytes\":%llu,\"volumes\":%u}\n",
               (unsigned long long)st.blobs, (unsigned long long)st.media,
               (unsigned long long)st.jobs, (unsigned long long)st.live_bytes,
               (unsigned long long)st.dead_bytes, st.volumes);
        return 0;
    }
    printf("blobs       %llu\nmedia       %llu\njobs        %llu\n"
           "live bytes  %llu\ndead bytes  %llu\nvolumes     %u\n",
           (unsigned long long)st.blobs, (unsigned long long)st.media,
           (unsigned long long)st.jobs, (unsigned long long)st.live_bytes,
           (unsigned long long)st.dead_bytes, st.volumes);
    return 0;
}

static int print_media_line(void *ctx, const char *id, size_t id_len,
                            const void *value, size_t len)
{
    struct ctl *ctl = ctx;
    media_t m;

    if (media_decode(value, len, &m) != 0) {
        printf("%.*s  (unreadable record)\n", (int)id_len, id);
        return 0;
    }
    if (ctl->json) {
        json_t *doc = media_to_json(&m, true);

        json_dumpf(doc, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(doc);
        return 0;
    }
    printf("%s  %-5s %-4s %-10s %-6s %5ux%-5u %10llu bytes  %u variants\n",
           m.id, format_kind_name((kadr_kind_t)m.kind),
           format_name((kadr_format_t)m.format), media_status_name(m.status),
           media_access_name(m.access), m.width, m.height,
           (unsigned long long)m.size, m.variant_count);
    return 0;
}

static int cmd_ls(struct ctl *ctl)
{
    return store_media_each(ctl->txn, print_media_line, ctl);
}

static int cmd_show(struct ctl *ctl, const char *id)
{
    media_t m;
    json_t *doc;
    int rc;

    if (id == NULL) {
        fputs("kadrctl: show needs a media id\n", stderr);
        return KADR_E_BAD_INPUT;
    }
    rc = media_load(ctl->txn, id, &m);
    if (rc != 0)
        return rc;
    doc = media_to_json(&m, true);
    json_dumpf(doc, stdout, ctl->json ? JSON_COMPACT : JSON_INDENT(2));
    putchar('\n');
    json_decref(doc);
    return 0;
}

static int run_command(struct ctl *ctl, const char *cmd, const char *arg)
{
    if (strcmp(cmd, "stat") == 0)
        return cmd_stat(ctl);
    if (strcmp(cmd, "ls") == 0)
        return cmd_ls(ctl);
    if (strcmp(cmd, "show") == 0)
        return cmd_show(ctl, arg);
    fprintf(stderr, "kadrctl: unknown command '%s' (see --help)\n", cmd);
    return KADR_E_BAD_INPUT;
}

/* How many arguments a command takes. */
enum command_args { ARGS_NONE, ARGS_ONE, ARGS_OPTIONAL };

struct command_spec {
    const char *name;
    enum command_args args;
};

static const struct command_spec commands[] = {
    {"stat", ARGS_NONE},    {"ls", ARGS_NONE},          {"show", ARGS_ONE},
    {"volumes", ARGS_NONE}, {"rm", ARGS_ONE},           {"verify", ARGS_NONE},
    {"repair", ARGS_NONE},  {"compact", ARGS_OPTIONAL}, {"gc", ARGS_NONE},
};

/* Checks the command, its argument and --url before the store is
 * opened, so a typing error is named as such and not as a data folder
 * that fails to open. Prints the error and returns false. */
static bool check_command(const struct ctl *ctl, const char *cmd,
                          const char *arg)
{
    const struct command_spec *spec = NULL;

    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(cmd, commands[i].name) == 0)
            spec = &commands[i];
    }
    if (spec == NULL) {
        fprintf(stderr, "kadrctl: unknown command '%s' (see --help)\n", cmd);
        return false;
    }
    if (spec->args == ARGS_NONE && arg != NULL) {
        fprintf(stderr, "kadrctl: %s takes no argument, got '%s'\n", cmd, arg);
        return false;
    }
    if (spec->args == ARGS_ONE && arg == NULL) {
        fprintf(stderr, "kadrctl: %s needs a media id\n", cmd);
        return false;
    }
    if (ctl->url != NULL && strcmp(cmd, "compact") != 0 &&
        strcmp(cmd, "gc") != 0) {
        fputs("kadrctl: --url works with compact and gc only\n", stderr);
        return false;
    }
    return true;
}

static int open_and_run(struct ctl *ctl, const char *cmd, const char *arg)
{
    int rc;

    if (ctl_opens_store(cmd))
        return ctl_run_own(ctl, cmd, arg);
    /* ctl_open() names the folder and the error itself. */
    rc = ctl_open(ctl, CTL_READ);
    if (rc != 0)
        return rc;
    rc = store_txn_begin(ctl->store, false, &ctl->txn);
    if (rc == 0) {
        rc = run_command(ctl, cmd, arg);
        store_txn_abort(ctl->txn);
    }
    store_close(ctl->store);
    return rc;
}

int main(int argc, char **argv)
{
    struct ctl ctl = {"./data", false, NULL, NULL, NULL};
    const char *cmd = NULL;
    const char *arg = NULL;
    int rc;

    for (int i = 1; i < argc; i++) {
        bool takes_value =
            strcmp(argv[i], "--data") == 0 || strcmp(argv[i], "--url") == 0;

        if (takes_value && i + 1 == argc) {
            fprintf(stderr, "kadrctl: %s needs a value (see --help)\n",
                    argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--help") == 0) {
            print_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--data") == 0) {
            ctl.data_dir = argv[++i];
        } else if (strcmp(argv[i], "--url") == 0) {
            ctl.url = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            ctl.json = true;
        } else if (cmd == NULL && strcmp(argv[i], "token") == 0) {
            return ctl_token_main(argc - i, argv + i);
        } else if (strncmp(argv[i], "--", 2) == 0 && argv[i][2] != '\0') {
            fprintf(stderr, "kadrctl: unknown option '%s' (see --help)\n",
                    argv[i]);
            return 2;
        } else if (cmd == NULL) {
            cmd = argv[i];
        } else if (arg == NULL) {
            arg = argv[i];
        } else {
            fprintf(stderr, "kadrctl: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (cmd == NULL) {
        print_usage(stderr);
        return 2;
    }
    if (!check_command(&ctl, cmd, arg))
        return 2;
    rc = open_and_run(&ctl, cmd, arg);
    if (rc != 0 && rc != KADR_E_BAD_INPUT && rc != CTL_FOUND_PROBLEMS)
        fprintf(stderr, "kadrctl: %s failed: %s\n", cmd, kadr_strerror(rc));
    return rc == 0 ? 0 : 1;
}
