/* Mapping of codec, store and system codes to an upload's HTTP status. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "kadr/error.h"
#include "upload.h"

struct status_case {
    int code;
    int status;
    const char *error;
};

static const struct status_case cases[] = {
    {KADR_E_UNSUPPORTED, 415, "unsupported_media_type"},
    {KADR_E_CORRUPT, 422, "corrupt_media"},
    {KADR_E_TOO_LARGE, 422, "media_over_limit"},
    {KADR_E_DISK_FULL, 507, "insufficient_storage"},
    {-ENOSPC, 507, "insufficient_storage"},
    {KADR_E_COLLISION, 409, "hash_collision"},
    /* A shortage of descriptors or memory is temporary: retry later. */
    {-EMFILE, 503, "overloaded"},
    {-ENFILE, 503, "overloaded"},
    {-ENOMEM, 503, "overloaded"},
    {-EIO, 500, "internal_error"},
};

static void upload_status_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *error = NULL;

        print_message("code %d\n", cases[i].code);
        assert_int_equal(upload_status_for(cases[i].code, &error),
                         cases[i].status);
        assert_string_equal(error, cases[i].error);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(upload_status_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
