/*
 * fuzz_manifest.c: a manifest through everything muster derives from it
 * before touching a host: parse and validate, each VM's spec, its NoCloud
 * seed (stand-in keys), every kickstart VM's Kickstart (as validate does).
 * Run from the top of the tree: templates/... resolve there.
 */
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "bootstrap.h"
#include "manifest.h"
#include "vmseed.h"
#include "vmspec.h"

#define VMS_RENDERED 8		/* a seed is milliseconds; a fleet of 10000 is not rendered */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const admin[] = { "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA muster-admin" };
	struct manifest *m = NULL;
	struct mf_diags diags = { 0 };
	struct vmspec_macs macs = { 0 };
	struct keypair keys[MF_KEY_TYPE_MAX];
	struct muster_err err = { 0 };
	size_t i;

	if (manifest_parse("fuzz.yaml", (const char *) data, size, &m, &diags) < 0) {
		mf_diags_release(&diags);
		return 0;
	}
	for (i = 0; i < m->n_host_key_types; i++)
		keys[i] = (struct keypair) {
			.type = vmseed_key_type(m->host_key_types[i]),
			.public_key = (char *) "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA",
			.private_key = (char *) "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
			.fingerprint = (char *) "SHA256:x",
		};
	if (vmspec_macs_assign(m, &macs, &err) == 0) {
		for (i = 0; i < m->n_vms && i < VMS_RENDERED; i++) {
			struct buf hw = BUF_INIT(1 << 20), base = BUF_INIT(1 << 20);
			struct vmseed_input in = {
				.m = m, .vm = i, .macs = &macs, .host_keys = keys,
				.authorized_keys = m->n_authorized_keys ? m->authorized_keys : admin,
				.n_authorized_keys = m->n_authorized_keys ? m->n_authorized_keys : 1,
			};
			struct cidata seed = { 0 };

			(void) manifest_vm_spec(m, i, &hw, &base);
			buf_release(&hw);
			buf_release(&base);
			if (manifest_vm_group(m, &m->vms[i])->bootstrap == MF_BOOTSTRAP_CLOUD_INIT &&
			    vmseed_render(&in, &seed, &err) == 0)
				cidata_release(&seed);
		}
		vmspec_macs_release(&macs);
	}
	if (m->n_vms <= VMS_RENDERED)
		(void) bootstrap_kickstart_check(m, &err);
	manifest_free(m);
	return 0;
}
