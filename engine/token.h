/* Access tokens for paid media: an HMAC-SHA256 (OpenSSL) over the key
 * id, media id, expiry, and an optional variant and viewer id.
 *
 * Text form, URL-safe without escaping (RFC 3986 unreserved characters):
 *
 *   v1~<key id>~<expiry>~<variant or empty>~<viewer or empty>~<mac>
 *
 * - key id: 1 to TOKEN_MAX_FIELD of [A-Za-z0-9_-].
 * - expiry: Unix seconds in decimal, no sign or leading zero, at most 12
 *   digits.
 * - variant and viewer: 0 to TOKEN_MAX_FIELD of [A-Za-z0-9._-].
 * - mac: the 32-byte MAC in base64url without padding (43 characters).
 *
 * The MAC input is these fields joined by single LF (0x0A) bytes, with no
 * LF at the end:
 *
 *   "kadr-token-v1", key id, media id, expiry, variant, viewer
 *
 * The media id is not in the text: it comes from the URL the token is
 * presented with. An empty variant lets the token open every variant of
 * the media. The viewer id is covered by the MAC so that a leaked token
 * names who it was minted for; the server does not check it against the
 * request.
 *
 * Nothing here logs or allocates; the keyring holds secrets and is wiped
 * by token_keyring_clear(). */
#ifndef KADR_ENGINE_TOKEN_H
#define KADR_ENGINE_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kadr/error.h>

#define TOKEN_VERSION "v1"
#define TOKEN_SEPARATOR '~'
#define TOKEN_MAC_CONTEXT "kadr-token-v1"
#define TOKEN_MAX_KEYS 16
#define TOKEN_MAX_FIELD 64 /* bytes of a key id, variant or viewer */
#define TOKEN_MAX_EXPIRY_DIGITS 12
#define TOKEN_MAC_BYTES 32        /* HMAC-SHA256 */
#define TOKEN_MAC_TEXT_LEN 43     /* base64url of 32 bytes, no padding */
#define TOKEN_MIN_SECRET_BYTES 16 /* shorter secrets are rejected */
#define TOKEN_MAX_SECRET_BYTES 128
/* Maximum length of a token text, without the NUL. */
#define TOKEN_MAX_LEN                                                          \
    (2 + 5 + 3 * TOKEN_MAX_FIELD + TOKEN_MAX_EXPIRY_DIGITS + TOKEN_MAC_TEXT_LEN)

typedef struct token_key {
    char id[TOKEN_MAX_FIELD + 1];
    unsigned char secret[TOKEN_MAX_SECRET_BYTES];
    size_t secret_len;
} token_key_t;

/* The keys a server accepts, several at once so that they rotate. */
typedef struct token_keyring {
    size_t count;
    token_key_t keys[TOKEN_MAX_KEYS];
} token_keyring_t;

/* The fields of a token's text form. */
typedef struct token {
    char key_id[TOKEN_MAX_FIELD + 1];
    int64_t expiry; /* Unix seconds; the token is valid while now < expiry */
    char variant[TOKEN_MAX_FIELD + 1];
    char viewer[TOKEN_MAX_FIELD + 1];
    unsigned char mac[TOKEN_MAC_BYTES];
} token_t;

/* Result of a token check. Only logs tell the rejections apart, because
 * every rejection gets the same response. */
enum token_verdict {
    TOKEN_VALID = 0,
    TOKEN_MALFORMED,
    TOKEN_UNKNOWN_KEY,
    TOKEN_BAD_MAC, /* tampered, minted for another media, or wrong key */
    TOKEN_EXPIRED,
    TOKEN_WRONG_VARIANT,
};

/* Returns a short name for a verdict, for logs. */
const char *token_verdict_name(enum token_verdict verdict);

/* Adds keys from text: "kid:base64secret" entries separated by sep
 * (',' for a config value, '\n' for a file), with white space around
 * entries ignored and '#' lines skipped. Returns 0, or KADR_E_CONFIG with
 * a message in err that names the entry but never shows a secret. */
KADR_MUST_CHECK int token_keyring_add(token_keyring_t *ring, const char *text,
                                      char sep, char *err, size_t err_size);

/* Adds the keys of a file with one "kid:base64secret" a line. */
KADR_MUST_CHECK int token_keyring_load_file(token_keyring_t *ring,
                                            const char *path, char *err,
                                            size_t err_size);

/* Fills an empty ring from a config value list ("kid:base64,...", may be
 * NULL or "") and then from a file path (may be NULL or ""). */
KADR_MUST_CHECK int token_keyring_load(token_keyring_t *ring, const char *list,
                                       const char *path, char *err,
                                       size_t err_size);

/* Wipes every secret. */
void token_keyring_clear(token_keyring_t *ring);

/* Returns the key with that id, or NULL. */
const token_key_t *token_keyring_find(const token_keyring_t *ring,
                                      const char *key_id);

/* Splits and checks the text form (len bytes, no NUL needed). Returns 0
 * or KADR_E_BAD_INPUT; checks no MAC. */
KADR_MUST_CHECK int token_parse(const char *text, size_t len, token_t *out);

/* Writes the MAC input for tok and media_id into out. Returns its length,
 * or KADR_E_TOO_LARGE when out_size is too small. */
int token_mac_input(const token_t *tok, const char *media_id, char *out,
                    size_t out_size);

/* Mints a token with key key_id for media_id (variant and viewer may be
 * NULL or ""), valid until expiry. Writes the NUL-terminated text to out
 * (TOKEN_MAX_LEN + 1 bytes suffice). Returns 0, KADR_E_NOT_FOUND for an
 * unknown key, KADR_E_BAD_INPUT for a field outside its character set or
 * length, or KADR_E_CODEC if OpenSSL fails. */
KADR_MUST_CHECK int token_mint(const token_keyring_t *ring, const char *key_id,
                               const char *media_id, int64_t expiry,
                               const char *variant, const char *viewer,
                               char *out, size_t out_size);

/* Checks token text (len bytes) for a request of variant of media_id at
 * time now. The MAC is compared in constant time. Fills out (may be NULL)
 * with the parsed fields when the text parses. */
enum token_verdict token_verify(const token_keyring_t *ring, const char *text,
                                size_t len, const char *media_id,
                                const char *variant, int64_t now, token_t *out);

#endif
