/* Access tokens: the worked example of docs/API.md, mint and verify
 * round trips, every rejection, and keyring parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "token.h"

/* The worked example of docs/API.md, section "Access tokens". */
#define EXAMPLE_KEYS "k1:a2Fkci1leGFtcGxlLXNlY3JldC0wMTIzNDU2Nzg5YWI="
#define EXAMPLE_MEDIA "Qm3x0nS2rTq8vLpW"
#define EXAMPLE_EXPIRY 1767225600
#define EXAMPLE_TOKEN                                                          \
    "v1~k1~1767225600~w1080.jpg~u42~"                                          \
    "7wCZf0OX5nm4Ovg00Z6qo-SZyM7fI_UdsChpqcIlz8U"
#define EXAMPLE_TOKEN_ALL                                                      \
    "v1~k1~1767225600~~~-VJsla1Yg4B12KqB-RLBzh6ZQ_yWKwjIkB8J59FRiqc"
#define EXAMPLE_MAC_INPUT                                                      \
    "kadr-token-v1\nk1\nQm3x0nS2rTq8vLpW\n1767225600\nw1080.jpg\nu42"
#define BEFORE (EXAMPLE_EXPIRY - 10)

static void load_ring(token_keyring_t *ring, const char *keys)
{
    char err[256] = "";
    int rc = token_keyring_load(ring, keys, NULL, err, sizeof(err));

    if (rc != 0)
        print_message("keyring error: %s\n", err);
    assert_int_equal(rc, 0);
}

static enum token_verdict verify(const token_keyring_t *ring, const char *text,
                                 const char *media, const char *variant,
                                 int64_t now)
{
    return token_verify(ring, text, strlen(text), media, variant, now, NULL);
}

static void token_worked_example(void **state)
{
    token_keyring_t ring;
    char text[TOKEN_MAX_LEN + 1];
    char input[512];
    token_t tok;

    load_ring(&ring, EXAMPLE_KEYS);
    assert_int_equal(token_mint(&ring, "k1", EXAMPLE_MEDIA, EXAMPLE_EXPIRY,
                                "w1080.jpg", "u42", text, sizeof(text)),
                     0);
    assert_string_equal(text, EXAMPLE_TOKEN);
    assert_int_equal(token_parse(text, strlen(text), &tok), 0);
    assert_int_equal(token_mac_input(&tok, EXAMPLE_MEDIA, input, sizeof(input)),
                     (int)strlen(EXAMPLE_MAC_INPUT));
    assert_string_equal(input, EXAMPLE_MAC_INPUT);
    assert_int_equal(token_mint(&ring, "k1", EXAMPLE_MEDIA, EXAMPLE_EXPIRY,
                                NULL, NULL, text, sizeof(text)),
                     0);
    assert_string_equal(text, EXAMPLE_TOKEN_ALL);
    token_keyring_clear(&ring);
}

static void token_verify_valid(void **state)
{
    token_keyring_t ring;
    token_t tok;

    load_ring(&ring, EXAMPLE_KEYS);
    assert_int_equal(token_verify(&ring, EXAMPLE_TOKEN, strlen(EXAMPLE_TOKEN),
                                  EXAMPLE_MEDIA, "w1080.jpg", BEFORE, &tok),
                     TOKEN_VALID);
    assert_string_equal(tok.key_id, "k1");
    assert_string_equal(tok.variant, "w1080.jpg");
    assert_string_equal(tok.viewer, "u42");
    assert_int_equal(tok.expiry, EXAMPLE_EXPIRY);
    assert_int_equal(
        verify(&ring, EXAMPLE_TOKEN_ALL, EXAMPLE_MEDIA, "w320.webp", BEFORE),
        TOKEN_VALID);
}

static void token_rejections(void **state)
{
    token_keyring_t ring;
    char tampered[] = EXAMPLE_TOKEN;

    load_ring(&ring, EXAMPLE_KEYS);
    assert_int_equal(verify(&ring, EXAMPLE_TOKEN, EXAMPLE_MEDIA, "w1080.jpg",
                            EXAMPLE_EXPIRY),
                     TOKEN_EXPIRED);
    assert_int_equal(
        verify(&ring, EXAMPLE_TOKEN, "Qm3x0nS2rTq8vLpX", "w1080.jpg", BEFORE),
        TOKEN_BAD_MAC);
    assert_int_equal(
        verify(&ring, EXAMPLE_TOKEN, EXAMPLE_MEDIA, "w320.webp", BEFORE),
        TOKEN_WRONG_VARIANT);
    /* Change the viewer: the MAC no longer matches. */
    tampered[strlen("v1~k1~1767225600~w1080.jpg~u4")] = '3';
    assert_int_equal(
        verify(&ring, tampered, EXAMPLE_MEDIA, "w1080.jpg", BEFORE),
        TOKEN_BAD_MAC);
    assert_int_equal(verify(&ring,
                            "v1~k9~1767225600~w1080.jpg~u42~"
                            "7wCZf0OX5nm4Ovg00Z6qo-SZyM7fI_UdsChpqcIlz8U",
                            EXAMPLE_MEDIA, "w1080.jpg", BEFORE),
                     TOKEN_UNKNOWN_KEY);
}

static void token_malformed_texts(void **state)
{
    static const char *const texts[] = {
        "",
        "v1",
        "v2~k1~1767225600~w1080.jpg~u42~"
        "7wCZf0OX5nm4Ovg00Z6qo-SZyM7fI_UdsChpqcIlz8U",
        "v1~~1767225600~w1080.jpg~u42~"
        "7wCZf0OX5nm4Ovg00Z6qo-SZyM7fI_UdsChpqcIlz8U",
        "v1~k1~01767225600~w1080.jpg~u42~"
        "7wCZf0OX5nm4Ovg00Z6qo-SZyM7fI_UdsChpqcIlz8U",
        "v1~k1~-1~w1080.jpg~u42~7wCZf0OX5nm4Ovg00Z6qo-SZyM7fI_UdsChpqcIlz8U",
        "v1~k1~1767225600~w1080/jpg~u42~"
        "7wCZf0OX5nm4Ovg00Z6qo-SZyM7fI_UdsChpqcIlz8U",
        "v1~k1~1767225600~w1080.jpg~u42~"
        "7wCZf0OX5nm4Ovg00Z6qo-SZyM7fI_UdsChpqcIlz8",
        "v1~k1~1767225600~w1080.jpg~u42~"
        "7wCZf0OX5nm4Ovg00Z6qo-SZyM7fI_UdsChpqcIlz8V",
        "v1~k1~1767225600~w1080.jpg~u42~"
        "7wCZf0OX5nm4Ovg00Z6qo+SZyM7fI_UdsChpqcIlz8U",
        "v1~k1~1767225600~w1080.jpg~u42~"
        "7wCZf0OX5nm4Ovg00Z6qo-SZyM7fI_UdsChpqcIlz8U~",
        "v1~k1~1767225600~w1080.jpg~u42~x~"
        "7wCZf0OX5nm4Ovg00Z6qo-SZyM7fI_UdsChpqcIlz8U",
        "v1~k1~9999999999999~~~7wCZf0OX5nm4Ovg00Z6qo-SZyM7fI_UdsChpqcIlz8U",
    };
    token_keyring_t ring;
    token_t tok;

    load_ring(&ring, EXAMPLE_KEYS);
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        print_message("case %zu: %s\n", i, texts[i]);
        assert_int_equal(token_parse(texts[i], strlen(texts[i]), &tok),
                         KADR_E_BAD_INPUT);
        assert_int_equal(
            verify(&ring, texts[i], EXAMPLE_MEDIA, "w1080.jpg", BEFORE),
            TOKEN_MALFORMED);
    }
}

static void token_key_rotation(void **state)
{
    token_keyring_t old_ring;
    token_keyring_t both;
    char text[TOKEN_MAX_LEN + 1];

    load_ring(&old_ring, EXAMPLE_KEYS);
    load_ring(
        &both,
        " k2:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY , " EXAMPLE_KEYS);
    assert_int_equal(both.count, 2);
    assert_int_equal(
        verify(&both, EXAMPLE_TOKEN, EXAMPLE_MEDIA, "w1080.jpg", BEFORE),
        TOKEN_VALID);
    assert_int_equal(token_mint(&both, "k2", EXAMPLE_MEDIA, EXAMPLE_EXPIRY, "",
                                "", text, sizeof(text)),
                     0);
    assert_int_equal(verify(&both, text, EXAMPLE_MEDIA, "w1080.jpg", BEFORE),
                     TOKEN_VALID);
    assert_int_equal(
        verify(&old_ring, text, EXAMPLE_MEDIA, "w1080.jpg", BEFORE),
        TOKEN_UNKNOWN_KEY);
    assert_int_equal(token_mint(&both, "k3", EXAMPLE_MEDIA, EXAMPLE_EXPIRY, "",
                                "", text, sizeof(text)),
                     KADR_E_NOT_FOUND);
}

static void keyring_rejects_bad_entries(void **state)
{
    static const char *const lists[] = {
        "k1",          /* no secret */
        "k1:c2hvcnQ=", /* 5 bytes: too short */
        "k 1:a2Fkci1leGFtcGxlLXNlY3JldC0wMTIzNDU2Nzg5YWI=", /* bad id */
        "k1:!!!!",                                          /* not base64 */
        EXAMPLE_KEYS "," EXAMPLE_KEYS, /* the same id twice */
    };

    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        token_keyring_t ring;
        char err[256] = "";

        print_message("case %zu\n", i);
        assert_int_equal(
            token_keyring_load(&ring, lists[i], NULL, err, sizeof(err)),
            KADR_E_CONFIG);
        assert_true(err[0] != '\0');
        assert_null(strstr(err, "a2Fkci1leGFtcGxl"));
    }
}

static void keyring_reads_file(void **state)
{
    char path[] = "/tmp/kadr-token-keys-XXXXXX";
    const char text[] = "# rotation: k2 is new\n"
                        "k2:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\n"
                        "\n" EXAMPLE_KEYS "\n";
    token_keyring_t ring;
    char err[256] = "";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1),
                     (ssize_t)(sizeof(text) - 1));
    close(fd);
    assert_int_equal(token_keyring_load(&ring, "", path, err, sizeof(err)), 0);
    unlink(path);
    assert_int_equal(ring.count, 2);
    assert_non_null(token_keyring_find(&ring, "k1"));
    assert_non_null(token_keyring_find(&ring, "k2"));
    assert_int_equal(
        verify(&ring, EXAMPLE_TOKEN, EXAMPLE_MEDIA, "w1080.jpg", BEFORE),
        TOKEN_VALID);
}

static void mint_rejects_bad_fields(void **state)
{
    token_keyring_t ring;
    char text[TOKEN_MAX_LEN + 1];

    load_ring(&ring, EXAMPLE_KEYS);
    assert_int_equal(token_mint(&ring, "k1", EXAMPLE_MEDIA, EXAMPLE_EXPIRY,
                                "a~b", "", text, sizeof(text)),
                     KADR_E_BAD_INPUT);
    assert_int_equal(token_mint(&ring, "k1", EXAMPLE_MEDIA, EXAMPLE_EXPIRY, "",
                                "user@example", text, sizeof(text)),
                     KADR_E_BAD_INPUT);
    assert_int_equal(
        token_mint(&ring, "k1", EXAMPLE_MEDIA, 0, "", "", text, sizeof(text)),
        KADR_E_BAD_INPUT);
    assert_int_equal(token_mint(&ring, "k1", EXAMPLE_MEDIA, EXAMPLE_EXPIRY, "",
                                "", text, 10),
                     KADR_E_TOO_LARGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(token_worked_example),
        cmocka_unit_test(token_verify_valid),
        cmocka_unit_test(token_rejections),
        cmocka_unit_test(token_malformed_texts),
        cmocka_unit_test(token_key_rotation),
        cmocka_unit_test(keyring_rejects_bad_entries),
        cmocka_unit_test(keyring_reads_file),
        cmocka_unit_test(mint_rejects_bad_fields),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
