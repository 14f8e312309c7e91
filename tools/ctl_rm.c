/* kadrctl rm ID: deletes a media record and drops the references of its
 * original and variants, as DELETE /v1/media/{id} does. It writes only
 * the index, in one LMDB write transaction, so it works beside a running
 * kadrd: LMDB serialises the writers of both processes. */
#include <stdio.h>

#include "ctl.h"
#include "media.h"

static int delete_record(struct ctl *ctl, const char *id, media_t *m)
{
    store_txn_t *txn;
    int rc = store_txn_begin(ctl->store, true, &txn);

    if (rc != 0)
        return rc;
    rc = media_delete(txn, id, m);
    if (rc != 0) {
        store_txn_abort(txn);
        return rc;
    }
    return store_txn_commit(txn);
}

int ctl_cmd_rm(struct ctl *ctl, const char *id)
{
    media_t m;
    int rc;

    if (id == NULL) {
        fputs("kadrctl: rm needs a media id\n", stderr);
        return KADR_E_BAD_INPUT;
    }
    rc = delete_record(ctl, id, &m);
    if (rc == KADR_E_NOT_FOUND) {
        fprintf(stderr, "kadrctl: no media with id '%s'\n", id);
        return CTL_FOUND_PROBLEMS;
    }
    if (rc != 0)
        return rc;
    if (ctl->json) {
        ctl_print_json(ctl, json_pack("{s:s,s:I}", "removed", m.id,
                                      "references_dropped",
                                      (json_int_t)(1 + m.variant_count)));
        return 0;
    }
    printf("removed %s (%u references dropped)\n", m.id, 1 + m.variant_count);
    return 0;
}
