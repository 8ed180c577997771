/* fuzz_signed_record.c: signed peer records as a rendezvous server receives them. Whatever opens
 * must re-encode, render its addresses and survive a seal/open round trip of the same content. */
#include <string.h>

#include "fuzz.h"
#include "p2p/multiaddr.h"
#include "p2p/peer_record.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rdv_peer_record r;
    if (rdv_signed_peer_record_open(data, size, &r) != RDV_OK)
        return 0;
    char text[RDV_MA_MAX_TEXT], id[RDV_PEERID_TEXT_MAX];
    FUZZ_ASSERT(rdv_peerid_to_text(&r.peer_id, id, sizeof(id)) > 0);
    for (size_t i = 0; i < r.naddrs; i++) {
        FUZZ_ASSERT(rdv_ma_validate_known(r.addrs[i].bytes, r.addrs[i].len) == RDV_OK);
        if (rdv_ma_to_text(r.addrs[i].bytes, r.addrs[i].len, text, sizeof(text)) >= 0) {
            struct rdv_buf back;
            rdv_buf_init(&back, RDV_MA_MAX_BINARY);
            FUZZ_ASSERT(rdv_ma_from_text(text, &back) == RDV_OK);
            FUZZ_ASSERT(back.len == r.addrs[i].len && memcmp(rdv_buf_head(&back), r.addrs[i].bytes, back.len) == 0);
            rdv_buf_free(&back);
        }
    }
    struct rdv_buf enc;
    rdv_buf_init(&enc, 0);
    FUZZ_ASSERT(rdv_peer_record_encode(&r, &enc) == RDV_OK);
    struct rdv_peer_record again;
    FUZZ_ASSERT(rdv_peer_record_decode(rdv_buf_head(&enc), enc.len, &again) == RDV_OK);
    FUZZ_ASSERT(again.seq == r.seq && again.naddrs == r.naddrs && rdv_peerid_equal(&again.peer_id, &r.peer_id));
    rdv_peer_record_free(&again);
    rdv_buf_free(&enc);
    rdv_peer_record_free(&r);
    return 0;
}
