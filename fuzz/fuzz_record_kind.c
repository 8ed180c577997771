/* fuzz_record_kind.c: p2p/record_kind open and inspect, both kinds. Byte 0 picks the kind (bit 0:
 * libp2p peer record / WakuPeerRecord); the rest is the envelope. Whatever opens also inspects to
 * the same summary, whose addresses lie inside the input; whatever inspect refuses, open refuses;
 * a peer record that opens opens with p2p/peer_record.h to the same content (differential). */
#include <string.h>

#include "fuzz.h"
#include "p2p/peer_record.h"
#include "p2p/record_kind.h"
#include "util/err.h"

static struct rdv_record_summary A, B;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct rdv_record_kind *k = rdv_record_kind_get(data[0] & 1);
    const uint8_t *env = data + 1;
    size_t n = size - 1;
    int ro = rdv_record_open(k, env, n, &A);
    int ri = rdv_record_inspect(k, env, n, &B);
    if (ri != RDV_OK)
        FUZZ_ASSERT(ro != RDV_OK);
    if (ro != RDV_OK) {
        FUZZ_ASSERT(A.naddrs == 0 && A.peer.len == 0);
        /* the same error, unless open stopped at the signature before what inspect refused */
        FUZZ_ASSERT(ri == RDV_OK || ri == ro || ro == RDV_ERR_SIGNATURE);
        return 0;
    }
    FUZZ_ASSERT(ri == RDV_OK);
    FUZZ_ASSERT(rdv_peerid_equal(&A.peer, &B.peer) && A.seq == B.seq && A.naddrs == B.naddrs &&
                A.addrs_bytes == B.addrs_bytes && A.mix_key_len == B.mix_key_len);
    FUZZ_ASSERT(A.naddrs <= RDV_RECORD_MAX_ADDRS && n <= RDV_RECORD_ENVELOPE_MAX);
    size_t total = 0;
    for (size_t i = 0; i < A.naddrs; i++) {
        FUZZ_ASSERT(A.addrs[i].bytes >= env && A.addrs[i].bytes + A.addrs[i].len <= env + n);
        FUZZ_ASSERT(A.addrs[i].bytes == B.addrs[i].bytes && A.addrs[i].len == B.addrs[i].len);
        total += A.addrs[i].len;
    }
    FUZZ_ASSERT(total == A.addrs_bytes);
    if (k->id == RDV_RECORD_WAKU) {
        FUZZ_ASSERT(A.mix_key && A.naddrs > 0);
        FUZZ_ASSERT(A.mix_key_len == 0 || (A.mix_key >= env && A.mix_key + A.mix_key_len <= env + n));
    } else {
        FUZZ_ASSERT(!A.mix_key);
        struct rdv_peer_record rec;
        FUZZ_ASSERT(rdv_signed_peer_record_open(env, n, &rec) == RDV_OK);
        FUZZ_ASSERT(rdv_peerid_equal(&rec.peer_id, &A.peer) && rec.seq == A.seq && rec.naddrs == A.naddrs);
        for (size_t i = 0; i < A.naddrs; i++)
            FUZZ_ASSERT(rec.addrs[i].len == A.addrs[i].len && memcmp(rec.addrs[i].bytes, A.addrs[i].bytes, A.addrs[i].len) == 0);
        rdv_peer_record_free(&rec);
    }
    /* the other kind never opens the same bytes */
    FUZZ_ASSERT(rdv_record_open(rdv_record_kind_get(!(data[0] & 1)), env, n, &B) != RDV_OK);
    return 0;
}
