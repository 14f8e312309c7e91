/* Access tokens: text form, keyring, mint and verify. The format and the
 * MAC input are described in token.h and in docs/API.md. */
#include "token.h"

#include "text_file.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

/* Largest MAC input: the context, five fields and five LF bytes. */
#define TOKEN_MAC_INPUT_MAX                                                    \
    (sizeof(TOKEN_MAC_CONTEXT) + 4 * TOKEN_MAX_FIELD +                         \
     TOKEN_MAX_EXPIRY_DIGITS + 8)
/* Maximum length of one entry of a keys value or file, in bytes. */
#define TOKEN_KEY_LINE_MAX 512

const char *token_verdict_name(enum token_verdict verdict)
{
    switch (verdict) {
    case TOKEN_VALID:
        return "valid";
    case TOKEN_MALFORMED:
        return "malformed";
    case TOKEN_UNKNOWN_KEY:
        return "unknown_key";
    case TOKEN_BAD_MAC:
        return "bad_mac";
    case TOKEN_EXPIRED:
        return "expired";
    case TOKEN_WRONG_VARIANT:
        return "wrong_variant";
    }
    return "unknown";
}

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

static bool key_id_char(unsigned char c)
{
    return is_alnum(c) || c == '_' || c == '-';
}

static bool name_char(unsigned char c)
{
    return key_id_char(c) || c == '.';
}

/* Copies a field of len bytes into out (TOKEN_MAX_FIELD + 1 bytes) if
 * every byte passes accept and the length is within min..TOKEN_MAX_FIELD. */
static int copy_field(const char *text, size_t len, size_t min,
                      bool (*accept)(unsigned char), char *out)
{
    if (len < min || len > TOKEN_MAX_FIELD)
        return KADR_E_BAD_INPUT;
    for (size_t i = 0; i < len; i++) {
        if (!accept((unsigned char)text[i]))
            return KADR_E_BAD_INPUT;
    }
    memcpy(out, text, len);
    out[len] = '\0';
    return 0;
}

static bool field_valid(const char *text, size_t min,
                        bool (*accept)(unsigned char))
{
    char scratch[TOKEN_MAX_FIELD + 1];

    return copy_field(text, strlen(text), min, accept, scratch) == 0;
}

/* ---- base64url through OpenSSL's base64 ---- */

/* Encodes 32 bytes as base64url without padding. out: 45 bytes. */
static void encode_mac(const unsigned char *mac, char *out)
{
    int n = EVP_EncodeBlock((unsigned char *)out, mac, TOKEN_MAC_BYTES);

    for (int i = 0; i < n; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
}

/* Decodes the 43-character base64url MAC. The last character must carry
 * no stray low bits, so each MAC has exactly one text form. */
static int decode_mac(const char *text, size_t len, unsigned char *mac)
{
    char std[TOKEN_MAC_TEXT_LEN + 2];
    unsigned char raw[TOKEN_MAC_BYTES + 3];

    if (len != TOKEN_MAC_TEXT_LEN)
        return KADR_E_BAD_INPUT;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];

        if (!key_id_char(c))
            return KADR_E_BAD_INPUT;
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        std[i] = (char)c;
    }
    if (strchr("AEIMQUYcgkosw048", std[len - 1]) == NULL)
        return KADR_E_BAD_INPUT;
    std[len] = '=';
    if (EVP_DecodeBlock(raw, (const unsigned char *)std, (int)len + 1) !=
        TOKEN_MAC_BYTES + 1)
        return KADR_E_BAD_INPUT;
    memcpy(mac, raw, TOKEN_MAC_BYTES);
    return 0;
}

/* Decodes standard base64 (with or without padding) into out. Returns the
 * byte count or -1. */
static int decode_secret(const char *text, size_t len, unsigned char *out)
{
    char padded[TOKEN_KEY_LINE_MAX + 4];
    unsigned char raw[TOKEN_KEY_LINE_MAX];
    size_t pad = 0;
    int n;

    if (len == 0 || len > TOKEN_KEY_LINE_MAX - 4)
        return -1;
    memcpy(padded, text, len);
    while (len > 0 && padded[len - 1] == '=') {
        len--;
        pad++;
    }
    if (pad > 2 || len % 4 == 1)
        return -1;
    pad = (4 - len % 4) % 4;
    memset(padded + len, '=', pad);
    n = EVP_DecodeBlock(raw, (unsigned char *)padded, (int)(len + pad));
    if (n < 0)
        return -1;
    n -= (int)pad;
    if (n > TOKEN_MAX_SECRET_BYTES) {
        OPENSSL_cleanse(raw, sizeof(raw));
        return -1;
    }
    memcpy(out, raw, (size_t)n);
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(padded, sizeof(padded));
    return n;
}

/* ---- Keyring ---- */

const token_key_t *token_keyring_find(const token_keyring_t *ring,
                                      const char *key_id)
{
    for (size_t i = 0; i < ring->count; i++) {
        if (strcmp(ring->keys[i].id, key_id) == 0)
            return &ring->keys[i];
    }
    return NULL;
}

static void trim(const char **start, size_t *len)
{
    while (*len > 0 && strchr(" \t\r\n", **start) != NULL) {
        (*start)++;
        (*len)--;
    }
    while (*len > 0 && strchr(" \t\r\n", (*start)[*len - 1]) != NULL)
        (*len)--;
}

static int add_entry(token_keyring_t *ring, const char *entry, size_t len,
                     char *err, size_t err_size)
{
    const char *colon = memchr(entry, ':', len);
    token_key_t *key = &ring->keys[ring->count];
    size_t id_len;
    int n;

    if (colon == NULL) {
        snprintf(err, err_size,
                 "invalid token key entry (expected KEY_ID:BASE64_SECRET)");
        return KADR_E_CONFIG;
    }
    id_len = (size_t)(colon - entry);
    if (copy_field(entry, id_len, 1, key_id_char, key->id) != 0) {
        snprintf(err, err_size,
                 "invalid token key id '%.*s' (expected 1 to %d of "
                 "A-Z a-z 0-9 _ -)",
                 (int)(id_len > 64 ? 64 : id_len), entry, TOKEN_MAX_FIELD);
        return KADR_E_CONFIG;
    }
    if (token_keyring_find(ring, key->id) != NULL) {
        snprintf(err, err_size, "token key id '%s' is given twice", key->id);
        return KADR_E_CONFIG;
    }
    n = decode_secret(colon + 1, len - id_len - 1, key->secret);
    if (n < TOKEN_MIN_SECRET_BYTES) {
        OPENSSL_cleanse(key, sizeof(*key));
        snprintf(err, err_size,
                 "invalid secret for token key '%.*s' (expected base64 of "
                 "%d to %d bytes)",
                 (int)id_len, entry, TOKEN_MIN_SECRET_BYTES,
                 TOKEN_MAX_SECRET_BYTES);
        return KADR_E_CONFIG;
    }
    key->secret_len = (size_t)n;
    ring->count++;
    return 0;
}

int token_keyring_add(token_keyring_t *ring, const char *text, char sep,
                      char *err, size_t err_size)
{
    const char *p = text;

    while (*p != '\0') {
        const char *end = strchr(p, sep);
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *entry = p;
        size_t entry_len = len;
        int rc = 0;

        trim(&entry, &entry_len);
        if (entry_len > 0 && entry[0] != '#') {
            if (ring->count == TOKEN_MAX_KEYS) {
                snprintf(err, err_size, "more than %d token keys",
                         TOKEN_MAX_KEYS);
                return KADR_E_CONFIG;
            }
            rc = add_entry(ring, entry, entry_len, err, err_size);
        }
        if (rc != 0)
            return rc;
        p += len;
        if (*p == sep)
            p++;
    }
    return 0;
}

int token_keyring_load_file(token_keyring_t *ring, const char *path, char *err,
                            size_t err_size)
{
    char text[TOKEN_MAX_KEYS * TOKEN_KEY_LINE_MAX];
    size_t len;
    int rc = text_file_read(path, "token keys file", text, sizeof(text), &len,
                            err, err_size);

    if (rc == 0)
        rc = token_keyring_add(ring, text, '\n', err, err_size);
    OPENSSL_cleanse(text, sizeof(text));
    return rc;
}

int token_keyring_load(token_keyring_t *ring, const char *list,
                       const char *path, char *err, size_t err_size)
{
    int rc = 0;

    memset(ring, 0, sizeof(*ring));
    if (list != NULL)
        rc = token_keyring_add(ring, list, ',', err, err_size);
    if (rc == 0 && path != NULL && path[0] != '\0')
        rc = token_keyring_load_file(ring, path, err, err_size);
    if (rc != 0)
        token_keyring_clear(ring);
    return rc;
}

void token_keyring_clear(token_keyring_t *ring)
{
    OPENSSL_cleanse(ring, sizeof(*ring));
}

/* ---- Text form ---- */

static int parse_expiry(const char *text, size_t len, int64_t *out)
{
    int64_t value = 0;

    if (len == 0 || len > TOKEN_MAX_EXPIRY_DIGITS || text[0] == '0')
        return KADR_E_BAD_INPUT;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return KADR_E_BAD_INPUT;
        value = value * 10 + (text[i] - '0');
    }
    *out = value;
    return 0;
}

/* Splits text into exactly six fields at the separator. */
static int split_fields(const char *text, size_t len, const char *start[6],
                        size_t field_len[6])
{
    size_t count = 0;
    size_t begin = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != TOKEN_SEPARATOR)
            continue;
        if (count == 6)
            return KADR_E_BAD_INPUT;
        start[count] = text + begin;
        field_len[count] = i - begin;
        count++;
        begin = i + 1;
    }
    return count == 6 ? 0 : KADR_E_BAD_INPUT;
}

int token_parse(const char *text, size_t len, token_t *out)
{
    const char *field[6];
    size_t field_len[6];

    memset(out, 0, sizeof(*out));
    if (len > TOKEN_MAX_LEN || split_fields(text, len, field, field_len) != 0)
        return KADR_E_BAD_INPUT;
    if (field_len[0] != strlen(TOKEN_VERSION) ||
        memcmp(field[0], TOKEN_VERSION, field_len[0]) != 0)
        return KADR_E_BAD_INPUT;
    if (copy_field(field[1], field_len[1], 1, key_id_char, out->key_id) != 0 ||
        parse_expiry(field[2], field_len[2], &out->expiry) != 0 ||
        copy_field(field[3], field_len[3], 0, name_char, out->variant) != 0 ||
        copy_field(field[4], field_len[4], 0, name_char, out->viewer) != 0 ||
        decode_mac(field[5], field_len[5], out->mac) != 0)
        return KADR_E_BAD_INPUT;
    return 0;
}

int token_mac_input(const token_t *tok, const char *media_id, char *out,
                    size_t out_size)
{
    int n = snprintf(out, out_size, "%s\n%s\n%s\n%lld\n%s\n%s",
                     TOKEN_MAC_CONTEXT, tok->key_id, media_id,
                     (long long)tok->expiry, tok->variant, tok->viewer);

    if (n < 0 || (size_t)n >= out_size)
        return KADR_E_TOO_LARGE;
    return n;
}

static int compute_mac(const token_key_t *key, const token_t *tok,
                       const char *media_id, unsigned char *mac)
{
    char input[TOKEN_MAC_INPUT_MAX];
    unsigned int mac_len = 0;
    int n = token_mac_input(tok, media_id, input, sizeof(input));

    if (n < 0)
        return n;
    if (HMAC(EVP_sha256(), key->secret, (int)key->secret_len,
             (const unsigned char *)input, (size_t)n, mac, &mac_len) == NULL ||
        mac_len != TOKEN_MAC_BYTES)
        return KADR_E_CODEC;
    return 0;
}

static int fill_token(token_t *tok, const char *key_id, int64_t expiry,
                      const char *variant, const char *viewer)
{
    memset(tok, 0, sizeof(*tok));
    if (!field_valid(key_id, 1, key_id_char) ||
        !field_valid(variant, 0, name_char) ||
        !field_valid(viewer, 0, name_char))
        return KADR_E_BAD_INPUT;
    if (expiry <= 0 || expiry > 999999999999LL)
        return KADR_E_BAD_INPUT;
    strcpy(tok->key_id, key_id);
    strcpy(tok->variant, variant);
    strcpy(tok->viewer, viewer);
    tok->expiry = expiry;
    return 0;
}

int token_mint(const token_keyring_t *ring, const char *key_id,
               const char *media_id, int64_t expiry, const char *variant,
               const char *viewer, char *out, size_t out_size)
{
    const token_key_t *key = token_keyring_find(ring, key_id);
    char mac_text[TOKEN_MAC_TEXT_LEN + 2];
    token_t tok;
    int rc;
    int n;

    if (key == NULL)
        return KADR_E_NOT_FOUND;
    rc = fill_token(&tok, key_id, expiry, variant == NULL ? "" : variant,
                    viewer == NULL ? "" : viewer);
    if (rc == 0 && media_id[0] == '\0')
        rc = KADR_E_BAD_INPUT;
    if (rc == 0)
        rc = compute_mac(key, &tok, media_id, tok.mac);
    if (rc != 0)
        return rc;
    encode_mac(tok.mac, mac_text);
    n = snprintf(out, out_size, "%s%c%s%c%lld%c%s%c%s%c%s", TOKEN_VERSION,
                 TOKEN_SEPARATOR, tok.key_id, TOKEN_SEPARATOR,
                 (long long)tok.expiry, TOKEN_SEPARATOR, tok.variant,
                 TOKEN_SEPARATOR, tok.viewer, TOKEN_SEPARATOR, mac_text);
    if (n < 0 || (size_t)n >= out_size)
        return KADR_E_TOO_LARGE;
    return 0;
}

enum token_verdict token_verify(const token_keyring_t *ring, const char *text,
                                size_t len, const char *media_id,
                                const char *variant, int64_t now, token_t *out)
{
    unsigned char want[TOKEN_MAC_BYTES];
    const token_key_t *key;
    token_t scratch;
    token_t *tok = out != NULL ? out : &scratch;
    bool mac_ok;

    if (token_parse(text, len, tok) != 0)
        return TOKEN_MALFORMED;
    key = token_keyring_find(ring, tok->key_id);
    if (key == NULL)
        return TOKEN_UNKNOWN_KEY;
    if (compute_mac(key, tok, media_id, want) != 0)
        return TOKEN_MALFORMED;
    mac_ok = CRYPTO_memcmp(want, tok->mac, TOKEN_MAC_BYTES) == 0;
    OPENSSL_cleanse(want, sizeof(want));
    if (!mac_ok)
        return TOKEN_BAD_MAC;
    if (now >= tok->expiry)
        return TOKEN_EXPIRED;
    if (tok->variant[0] != '\0' && strcmp(tok->variant, variant) != 0)
        return TOKEN_WRONG_VARIANT;
    return TOKEN_VALID;
}
