/* libFuzzer target for access tokens. The input is a token text checked
 * against a fixed keyring. A text that parses must re-mint to a token
 * with the same fields, and a text that verifies must be exactly that
 * minted text, because each MAC has one text form. Inputs that start with
 * '#' go to the keyring parser instead. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEDIA_ID "Qm3x0nS2rTq8vLpW"
/* 32 bytes of secret each, base64. */
#define KEYS                                                                   \
    "k1:a2Fkci1leGFtcGxlLXNlY3JldC0wMTIzNDU2Nzg5YWI=,"                         \
    "k2:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"

static token_keyring_t ring;
static int ring_ready;

static void fuzz_keyring(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    token_keyring_t scratch;
    char err[256] = "";

    if (text == NULL)
        return;
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&scratch, 0, sizeof(scratch));
    if (token_keyring_add(&scratch, text + 1, ',', err, sizeof(err)) != 0 &&
        err[0] == '\0')
        abort(); /* every rejection names its reason */
    if (scratch.count > TOKEN_MAX_KEYS)
        abort();
    token_keyring_clear(&scratch);
    free(text);
}

/* Checks that a parsed token re-mints with the same fields. */
static void check_round_trip(const uint8_t *data, size_t size,
                             const token_t *tok, enum token_verdict verdict)
{
    char again[TOKEN_MAX_LEN + 1];
    token_t parsed;
    int rc = token_mint(&ring, tok->key_id, MEDIA_ID, tok->expiry, tok->variant,
                        tok->viewer, again, sizeof(again));

    if (rc == KADR_E_NOT_FOUND)
        return;
    if (rc != 0 || token_parse(again, strlen(again), &parsed) != 0)
        abort();
    if (strcmp(parsed.key_id, tok->key_id) != 0 ||
        parsed.expiry != tok->expiry ||
        strcmp(parsed.variant, tok->variant) != 0 ||
        strcmp(parsed.viewer, tok->viewer) != 0)
        abort();
    if (verdict == TOKEN_VALID &&
        (strlen(again) != size || memcmp(again, data, size) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    token_t tok;
    enum token_verdict verdict;
    char err[256];

    if (!ring_ready) {
        if (token_keyring_load(&ring, KEYS, NULL, err, sizeof(err)) != 0)
            abort();
        ring_ready = 1;
    }
    if (size > 0 && data[0] == '#') {
        fuzz_keyring(data, size);
        return 0;
    }
    /* An exact-size copy, so ASan catches a read past the end. */
    text = malloc(size > 0 ? size : 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    verdict = token_verify(&ring, text, size, MEDIA_ID, "w1080.jpg", 0, &tok);
    if (verdict != TOKEN_MALFORMED)
        check_round_trip(data, size, &tok, verdict);
    if ((token_parse(text, size, &tok) == 0) != (verdict != TOKEN_MALFORMED))
        abort();
    free(text);
    return 0;
}
