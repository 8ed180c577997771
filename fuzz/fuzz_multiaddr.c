/* fuzz_multiaddr.c: binary multiaddrs (they arrive inside peer records) and text ones (flags,
 * config). A valid binary must round-trip through text unchanged. */
#include <string.h>

#include "fuzz.h"
#include "p2p/multiaddr.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[RDV_MA_MAX_TEXT];
    if (rdv_ma_validate(data, size) == RDV_OK && rdv_ma_to_text(data, size, text, sizeof(text)) >= 0) {
        struct rdv_buf back;
        rdv_buf_init(&back, RDV_MA_MAX_BINARY);
        FUZZ_ASSERT(rdv_ma_from_text(text, &back) == RDV_OK);
        FUZZ_ASSERT(back.len == size && memcmp(rdv_buf_head(&back), data, size) == 0);
        rdv_buf_free(&back);
    }
    /* the same bytes as text */
    if (size < RDV_MA_MAX_TEXT) {
        memcpy(text, data, size);
        text[size] = '\0';
        struct rdv_buf bin;
        rdv_buf_init(&bin, RDV_MA_MAX_BINARY);
        if (rdv_ma_from_text(text, &bin) == RDV_OK)
            FUZZ_ASSERT(rdv_ma_validate(rdv_buf_head(&bin), bin.len) == RDV_OK);
        rdv_buf_free(&bin);
    }
    return 0;
}
