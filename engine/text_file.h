/* Text files kadrd reads whole: the configuration file and the key files
 * it names. */
#ifndef KADR_ENGINE_TEXT_FILE_H
#define KADR_ENGINE_TEXT_FILE_H

#include <stddef.h>

#include <kadr/error.h>

/* Reads the regular file at path into buf (size bytes), ends it with NUL
 * and sets *len. Returns 0, or KADR_E_CONFIG with a message in err that
 * names `what` and path. The file is rejected when it cannot be read, is
 * not a regular file (a folder reads as empty through stdio), has size
 * bytes or more, or contains a NUL byte (which would end a line early).
 * The caller owns buf, and cleanses it when it contains secrets. */
KADR_MUST_CHECK int text_file_read(const char *path, const char *what,
                                   char *buf, size_t size, size_t *len,
                                   char *err, size_t err_size);

#endif
