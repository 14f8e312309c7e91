/* Runs a libFuzzer target's entry point over files without libFuzzer, so
 * the seed corpus and every saved crash input replay in the ordinary
 * (gcc, ASan) test builds. Arguments are files or folders of files. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs larger than this are skipped: seeds and crash inputs are small. */
#define REPLAY_MAX_BYTES (1024 * 1024)

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data;
    size_t size;

    if (f == NULL) {
        fprintf(stderr, "replay: cannot open '%s'\n", path);
        return 1;
    }
    data = malloc(REPLAY_MAX_BYTES);
    if (data == NULL) {
        fclose(f);
        return 1;
    }
    size = fread(data, 1, REPLAY_MAX_BYTES, f);
    fclose(f);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 0;
}

static int replay_path(const char *path, int *count)
{
    struct stat st;
    DIR *dir;
    struct dirent *entry;
    int failed = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: '%s' not found\n", path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return replay_file(path);
    }
    dir = opendir(path);
    if (dir == NULL)
        return 1;
    while ((entry = readdir(dir)) != NULL) {
        char child[4096];

        if (entry->d_name[0] == '.')
            continue;
        snprintf(child, sizeof(child), "%s/%s", path, entry->d_name);
        failed |= replay_path(child, count);
    }
    closedir(dir);
    return failed;
}

int main(int argc, char **argv)
{
    int count = 0;
    int failed = 0;

    for (int i = 1; i < argc; i++)
        failed |= replay_path(argv[i], &count);
    printf("replayed %d inputs\n", count);
    return failed != 0 || count == 0;
}
