/* Printing the key table: current values for --check-config, the Markdown
 * reference for docs/CONFIGURATION.md, and the copy of fixed keys that a
 * reload keeps. Secrets are never written out. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const void *field_of(const config_t *cfg, const config_key_t *key)
{
    return (const char *)cfg + key->offset;
}

void config_format_value(const config_t *cfg, const config_key_t *key,
                         char *out, size_t out_size)
{
    const void *field = field_of(cfg, key);

    if (key->type == CONFIG_U64) {
        snprintf(out, out_size, "%" PRIu64, *(const uint64_t *)field);
        return;
    }
    if (key->type == CONFIG_BOOL) {
        snprintf(out, out_size, "%s", *(const bool *)field ? "on" : "off");
        return;
    }

    const char *text = *(const char *const *)field;

    if (text == NULL)
        text = "";
    snprintf(out, out_size, "%s",
             key->secret && text[0] != '\0' ? "(hidden)" : text);
}

void config_print_values(const config_t *cfg, FILE *out)
{
    size_t count;
    const config_key_t *keys = config_keys(&count);

    for (size_t k = 0; k < count; k++) {
        char value[512];

        config_format_value(cfg, &keys[k], value, sizeof(value));
        fprintf(out, "%s = %s\n", keys[k].name, value);
    }
}

static void print_doc_row(FILE *out, const config_key_t *key)
{
    const char *fallback = key->fallback;

    if (fallback == NULL)
        fallback = "from the host";
    else if (fallback[0] == '\0')
        fallback = "(empty)";
    fprintf(out, "| `%s` | %s | %s%s%s | %s | %s%s |\n", key->name, key->unit,
            key->fallback != NULL ? "`" : "", fallback,
            key->fallback != NULL ? "`" : "", key->reload ? "yes" : "no",
            key->help, key->secret ? " (secret: never printed)" : "");
}

void config_print_docs(FILE *out)
{
    size_t count;
    const config_key_t *keys = config_keys(&count);

    fputs("| key | unit | default | SIGHUP | meaning |\n"
          "| --- | --- | --- | --- | --- |\n",
          out);
    for (size_t k = 0; k < count; k++)
        print_doc_row(out, &keys[k]);
}

static int copy_key(config_t *fresh, const config_t *live,
                    const config_key_t *key, bool *differed)
{
    char *dst = (char *)fresh + key->offset;
    const char *src = (const char *)live + key->offset;

    if (key->type == CONFIG_U64) {
        uint64_t was = *(const uint64_t *)(const void *)dst;

        /* 0 in a host-derived key means "not set", not a change. */
        *differed = was != *(const uint64_t *)(const void *)src &&
                    !(key->fallback == NULL && was == 0);
        memcpy(dst, src, sizeof(uint64_t));
        return 0;
    }
    if (key->type == CONFIG_BOOL) {
        *differed = memcmp(dst, src, sizeof(bool)) != 0;
        memcpy(dst, src, sizeof(bool));
        return 0;
    }

    char **slot = (char **)(void *)dst;
    const char *value = *(const char *const *)(const void *)src;
    char *copy = strdup(value != NULL ? value : "");

    if (copy == NULL)
        return -ENOMEM;
    *differed = *slot == NULL || strcmp(*slot, copy) != 0;
    free(*slot);
    *slot = copy;
    return 0;
}

int config_keep_fixed(config_t *fresh, const config_t *live,
                      void (*changed)(const char *name, void *ctx), void *ctx)
{
    size_t count;
    const config_key_t *keys = config_keys(&count);

    for (size_t k = 0; k < count; k++) {
        bool differed = false;
        int rc;

        if (keys[k].reload)
            continue;
        rc = copy_key(fresh, live, &keys[k], &differed);
        if (rc != 0)
            return rc;
        if (differed && changed != NULL)
            changed(keys[k].name, ctx);
    }
    return 0;
}
