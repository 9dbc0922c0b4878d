/* vmspec.c: hashing a VM's canonical spec text. */
#include <stdint.h>

#include "buf.h"
#include "hash.h"
#include "vmspec.h"

int vmspec_hashes(const struct manifest *m, size_t vm, char config[VMSPEC_HASH_LEN],
		  char base[VMSPEC_HASH_LEN], struct muster_err *err)
{
	struct buf hw = BUF_INIT(16u << 20), bs = BUF_INIT(16u << 20);
	uint8_t d1[HASH_SHA256_LEN], d2[HASH_SHA256_LEN];
	int r = -1;

	if (manifest_vm_spec(m, vm, &hw, &bs) < 0 ||
	    hash_sha256(buf_str(&hw), hw.len, d1) < 0 || hash_sha256(buf_str(&bs), bs.len, d2) < 0) {
		err_nomem(err);
		goto out;
	}
	hash_hex(d1, sizeof(d1), config);
	hash_hex(d2, sizeof(d2), base);
	r = 0;
out:
	buf_release(&hw);
	buf_release(&bs);
	return r;
}
