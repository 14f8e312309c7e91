/* The media record's two JSON forms: the stored one (every field, hashes
 * as hex) and the API view. */
#include "media.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

static json_t *hash_json(const kadr_hash_t *hash)
{
    char hex[KADR_HASH_HEX_LEN + 1];

    kadr_hash_to_hex(hash, hex);
    return json_string(hex);
}

static json_t *variant_stored_json(const media_variant_t *v)
{
    return json_pack("{s:s, s:o, s:I, s:i, s:i}", "name", v->name, "hash",
                     hash_json(&v->hash), "size", (json_int_t)v->size, "width",
                     (int)v->width, "height", (int)v->height);
}

static json_t *variants_stored_json(const media_t *m)
{
    json_t *list = json_array();

    for (uint32_t i = 0; list != NULL && i < m->variant_count; i++) {
        if (json_array_append_new(list, variant_stored_json(&m->variants[i])) !=
            0)
            return json_decref(list), NULL;
    }
    return list;
}

int media_encode(const media_t *m, char **out, size_t *len)
{
    json_t *variants = variants_stored_json(m);
    json_t *root;

    if (variants == NULL)
        return -ENOMEM;
    root = json_pack(
        "{s:s, s:s, s:i, s:i, s:i, s:i, s:s, s:o, s:I, s:i, s:i, s:f, "
        "s:I, s:o}",
        "id", m->id, "owner", m->owner, "access", (int)m->access, "kind",
        m->kind, "format", m->format, "status", (int)m->status, "error",
        m->error, "original", hash_json(&m->original), "size",
        (json_int_t)m->size, "width", (int)m->width, "height", (int)m->height,
        "duration", m->duration_s, "created", (json_int_t)m->created,
        "variants", variants);
    if (root == NULL)
        return -ENOMEM;
    if (m->blurhash[0] != '\0' &&
        json_object_set_new(root, "blurhash", json_string(m->blurhash)) != 0) {
        json_decref(root);
        return -ENOMEM;
    }
    *out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (*out == NULL)
        return -ENOMEM;
    *len = strlen(*out);
    return 0;
}

static int copy_string(json_t *obj, const char *key, char *out, size_t size)
{
    const char *text = json_string_value(json_object_get(obj, key));

    if (text == NULL || strlen(text) >= size)
        return KADR_E_FORMAT;
    strcpy(out, text);
    return 0;
}

static int read_hash(json_t *obj, const char *key, kadr_hash_t *out)
{
    const char *hex = json_string_value(json_object_get(obj, key));

    if (hex == NULL || kadr_hash_from_hex(hex, strlen(hex), out) != 0)
        return KADR_E_FORMAT;
    return 0;
}

static int decode_variant(json_t *obj, media_variant_t *v)
{
    int rc = copy_string(obj, "name", v->name, sizeof(v->name));

    if (rc == 0)
        rc = read_hash(obj, "hash", &v->hash);
    v->size = (uint64_t)json_integer_value(json_object_get(obj, "size"));
    v->width = (uint32_t)json_integer_value(json_object_get(obj, "width"));
    v->height = (uint32_t)json_integer_value(json_object_get(obj, "height"));
    return rc;
}

static int decode_variants(json_t *list, media_t *m)
{
    size_t i;
    json_t *item;

    if (!json_is_array(list) || json_array_size(list) > MEDIA_MAX_VARIANTS)
        return KADR_E_FORMAT;
    json_array_foreach(list, i, item)
    {
        int rc = decode_variant(item, &m->variants[i]);

        if (rc != 0)
            return rc;
    }
    m->variant_count = (uint32_t)json_array_size(list);
    return 0;
}

static int get_int(json_t *root, const char *key)
{
    return (int)json_integer_value(json_object_get(root, key));
}

int media_decode(const void *data, size_t len, media_t *m)
{
    json_t *root = json_loadb(data, len, 0, NULL);
    int rc;

    if (root == NULL)
        return KADR_E_FORMAT;
    memset(m, 0, sizeof(*m));
    rc = copy_string(root, "id", m->id, sizeof(m->id));
    if (rc == 0)
        rc = copy_string(root, "owner", m->owner, sizeof(m->owner));
    if (rc == 0)
        rc = copy_string(root, "error", m->error, sizeof(m->error));
    if (rc == 0)
        rc = read_hash(root, "original", &m->original);
    /* Records written before placeholders existed have no "blurhash". */
    if (rc == 0 && json_object_get(root, "blurhash") != NULL)
        rc = copy_string(root, "blurhash", m->blurhash, sizeof(m->blurhash));
    if (rc == 0)
        rc = decode_variants(json_object_get(root, "variants"), m);
    m->access = (enum media_access)get_int(root, "access");
    m->kind = get_int(root, "kind");
    m->format = get_int(root, "format");
    m->status = (enum media_status)get_int(root, "status");
    m->size = (uint64_t)json_integer_value(json_object_get(root, "size"));
    m->width = (uint32_t)get_int(root, "width");
    m->height = (uint32_t)get_int(root, "height");
    m->duration_s = json_number_value(json_object_get(root, "duration"));
    m->created = json_integer_value(json_object_get(root, "created"));
    json_decref(root);
    return rc;
}

static json_t *variant_api_json(const media_t *m, const media_variant_t *v)
{
    char url[96];

    snprintf(url, sizeof(url), "/v1/media/%s/%s", m->id, v->name);
    return json_pack("{s:s, s:s, s:I, s:i, s:i, s:s}", "name", v->name, "url",
                     url, "size", (json_int_t)v->size, "width", (int)v->width,
                     "height", (int)v->height, "type",
                     media_variant_mime(v->name));
}

static json_t *variants_api_json(const media_t *m)
{
    json_t *list = json_array();

    for (uint32_t i = 0; list != NULL && i < m->variant_count; i++) {
        if (json_array_append_new(list, variant_api_json(m, &m->variants[i])) !=
            0)
            return json_decref(list), NULL;
    }
    return list;
}

json_t *media_to_json(const media_t *m, bool show_private)
{
    json_t *root =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:i, s:i, s:I, s:o}", "id",
                  m->id, "kind", format_kind_name((kadr_kind_t)m->kind),
                  "format", format_name((kadr_format_t)m->format), "status",
                  media_status_name(m->status), "access",
                  media_access_name(m->access), "size", (json_int_t)m->size,
                  "width", (int)m->width, "height", (int)m->height, "created",
                  (json_int_t)m->created, "variants", variants_api_json(m));

    if (root == NULL)
        return NULL;
    if (m->kind == KADR_KIND_VIDEO)
        json_object_set_new(root, "duration", json_real(m->duration_s));
    if (m->status == MEDIA_PROCESSING && m->progress >= 0)
        json_object_set_new(root, "progress", json_integer(m->progress));
    if (m->status == MEDIA_FAILED)
        json_object_set_new(root, "error", json_string(m->error));
    if (m->blurhash[0] != '\0')
        json_object_set_new(root, "blurhash", json_string(m->blurhash));
    if (show_private && m->owner[0] != '\0')
        json_object_set_new(root, "owner", json_string(m->owner));
    if (show_private)
        json_object_set_new(root, "blob", hash_json(&m->original));
    return root;
}
