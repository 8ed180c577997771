/* fuzz_cookie.c: rendezvous/cookie. Input: kind (1 byte), namespace length L (1 byte), the
 * namespace (L bytes), then a candidate cookie. Differential: parse accepts the candidate only if
 * it equals what make produces for (kind, ns, the counter parse returned); make -> parse round-
 * trips the counter taken from the input, and fails for another kind, namespace or key; the
 * candidate spliced into a valid cookie is accepted only as make's output for its counter. */
#include <string.h>

#include "fuzz.h"
#include "rendezvous/cookie.h"
#include "util/err.h"

static const uint8_t KEY[RDV_COOKIE_KEY_LEN] = {0x6b, 0x65, 0x79, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                                                14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29};
static const uint8_t KEY2[RDV_COOKIE_KEY_LEN] = {0x6b, 0x65, 0x79, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                                                 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 30};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || (size_t)data[1] + 2 > size)
        return 0;
    uint8_t kind = data[0];
    size_t ns_len = data[1];
    const uint8_t *ns = data + 2, *cand = data + 2 + ns_len;
    size_t cand_len = size - 2 - ns_len;
    uint64_t counter = 0;
    uint8_t made[RDV_COOKIE_LEN];
    if (rdv_cookie_parse(KEY, kind, ns, ns_len, cand, cand_len, &counter) == RDV_OK) {
        FUZZ_ASSERT(cand_len == RDV_COOKIE_LEN);
        FUZZ_ASSERT(rdv_cookie_make(KEY, kind, ns, ns_len, counter, made) == RDV_OK);
        FUZZ_ASSERT(memcmp(made, cand, RDV_COOKIE_LEN) == 0);
    }
    /* a counter from the candidate's first 8 bytes (or fewer) */
    uint64_t c = 0;
    for (size_t i = 0; i < cand_len && i < 8; i++)
        c = c << 8 | cand[i];
    FUZZ_ASSERT(rdv_cookie_make(KEY, kind, ns, ns_len, c, made) == RDV_OK);
    uint64_t back = ~c;
    FUZZ_ASSERT(rdv_cookie_parse(KEY, kind, ns, ns_len, made, sizeof(made), &back) == RDV_OK && back == c);
    FUZZ_ASSERT(rdv_cookie_parse(KEY, (uint8_t)(kind ^ 1), ns, ns_len, made, sizeof(made), &back) != RDV_OK);
    FUZZ_ASSERT(rdv_cookie_parse(KEY2, kind, ns, ns_len, made, sizeof(made), &back) != RDV_OK);
    if (ns_len > 0)
        FUZZ_ASSERT(rdv_cookie_parse(KEY, kind, ns, ns_len - 1, made, sizeof(made), &back) != RDV_OK);
    /* the candidate's bytes spliced into the valid cookie: accepted only if unchanged */
    if (cand_len > 0) {
        uint8_t mixed[RDV_COOKIE_LEN];
        memcpy(mixed, made, sizeof(mixed));
        size_t at = cand[0] % RDV_COOKIE_LEN;
        for (size_t i = 1; i < cand_len && at < RDV_COOKIE_LEN; i++, at++)
            mixed[at] = cand[i];
        int rc = rdv_cookie_parse(KEY, kind, ns, ns_len, mixed, sizeof(mixed), &back);
        if (memcmp(mixed, made, sizeof(made)) == 0)
            FUZZ_ASSERT(rc == RDV_OK && back == c);
        if (rc == RDV_OK) { /* only ever what make produced for the counter it reports */
            uint8_t again[RDV_COOKIE_LEN];
            FUZZ_ASSERT(rdv_cookie_make(KEY, kind, ns, ns_len, back, again) == RDV_OK);
            FUZZ_ASSERT(memcmp(again, mixed, sizeof(again)) == 0);
        }
    }
    return 0;
}
