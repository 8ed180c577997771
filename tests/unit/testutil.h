/* testutil.h: helpers shared by the unit tests: hex, reading files and the shared vectors. */
#ifndef RDV_TESTUTIL_H
#define RDV_TESTUTIL_H

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decodes hex into a malloc'd buffer; returns NULL on bad hex. */
static inline unsigned char *tu_unhex(const char *hex, size_t *outlen)
{
    size_t n = strlen(hex) / 2;
    unsigned char *out = malloc(n ? n : 1);
    if (!out)
        return NULL;
    if (sodium_hex2bin(out, n ? n : 1, hex, strlen(hex), NULL, outlen, NULL) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* Loads a JSON file from $RDV_VECTORS_DIR (the shared vectors); exits 1 with a TAP bail-out if absent. */
static inline json_t *tu_load_vectors(const char *name)
{
    const char *dir = getenv("RDV_VECTORS_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "../shared/vectors", name);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j) {
        printf("Bail out! cannot load %s: %s\n", path, err.text);
        exit(1);
    }
    return j;
}

#endif
