/* kadrctl volumes: one line per volume with its size, indexed end, and
 * live and dead bytes. */
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"

/* No active flag: kadrctl reads the store beside kadrd, and only the
 * writer tracks which volume takes appends. */
static json_t *volume_json(const store_volume_info_t *v)
{
    return json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "id", (json_int_t)v->id,
        "file_bytes", (json_int_t)v->file_bytes, "indexed_end",
        (json_int_t)v->indexed_end, "live_bytes", (json_int_t)v->live_bytes,
        "dead_bytes", (json_int_t)v->dead_bytes, "live_blobs",
        (json_int_t)v->live_blobs, "dead_blobs", (json_int_t)v->dead_blobs,
        "dead_ratio", store_volume_dead_ratio(v));
}

static void print_line(const store_volume_info_t *v)
{
    printf("%8u %12llu %12llu %12llu %12llu %8llu %8llu %5.1f%%\n", v->id,
           (unsigned long long)v->file_bytes,
           (unsigned long long)v->indexed_end,
           (unsigned long long)v->live_bytes, (unsigned long long)v->dead_bytes,
           (unsigned long long)v->live_blobs, (unsigned long long)v->dead_blobs,
           100.0 * store_volume_dead_ratio(v));
}

int ctl_cmd_volumes(struct ctl *ctl)
{
    store_volume_info_t *list;
    size_t count;
    json_t *doc;
    int rc = store_volume_list(ctl->store, &list, &count);

    if (rc != 0)
        return rc;
    if (ctl->json) {
        doc = json_array();
        for (size_t i = 0; i < count; i++)
            json_array_append_new(doc, volume_json(&list[i]));
        ctl_print_json(ctl, doc);
    } else {
        printf("%8s %12s %12s %12s %12s %8s %8s %6s\n", "volume", "file bytes",
               "indexed end", "live bytes", "dead bytes", "live", "dead",
               "dead");
        for (size_t i = 0; i < count; i++)
            print_line(&list[i]);
    }
    free(list);
    return 0;
}
