/* The table of running transcodes. Lookups take one mutex, because the
 * loop thread reads progress while workers add and remove entries. The
 * codec polls cancel and writes percent through atomics, without it. */
#include "video_running.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static video_running_t table[VIDEO_RUNNING_MAX];

video_running_t *video_running_add(const char *media_id)
{
    video_running_t *entry = NULL;

    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < VIDEO_RUNNING_MAX; i++) {
        if (!table[i].used) {
            entry = &table[i];
            break;
        }
    }
    if (entry != NULL) {
        snprintf(entry->media_id, sizeof(entry->media_id), "%s", media_id);
        atomic_store(&entry->cancel, 0);
        atomic_store(&entry->percent, 0);
        atomic_store(&entry->deleted, false);
        entry->used = true;
    }
    pthread_mutex_unlock(&table_lock);
    return entry;
}

void video_running_remove(video_running_t *entry)
{
    if (entry == NULL)
        return;
    pthread_mutex_lock(&table_lock);
    entry->used = false;
    entry->media_id[0] = '\0';
    pthread_mutex_unlock(&table_lock);
}

static video_running_t *find_locked(const char *media_id)
{
    for (int i = 0; i < VIDEO_RUNNING_MAX; i++) {
        if (table[i].used && strcmp(table[i].media_id, media_id) == 0)
            return &table[i];
    }
    return NULL;
}

int video_running_progress(const char *media_id)
{
    video_running_t *entry;
    int percent = -1;

    pthread_mutex_lock(&table_lock);
    entry = find_locked(media_id);
    if (entry != NULL)
        percent = atomic_load(&entry->percent);
    pthread_mutex_unlock(&table_lock);
    return percent;
}

void video_running_cancel_deleted(const char *media_id)
{
    video_running_t *entry;

    pthread_mutex_lock(&table_lock);
    entry = find_locked(media_id);
    if (entry != NULL) {
        atomic_store(&entry->deleted, true);
        atomic_store(&entry->cancel, 1);
    }
    pthread_mutex_unlock(&table_lock);
}

void video_running_cancel_all(void)
{
    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < VIDEO_RUNNING_MAX; i++) {
        if (table[i].used)
            atomic_store(&table[i].cancel, 1);
    }
    pthread_mutex_unlock(&table_lock);
}
