/* identity.c: deterministic VM names, UUIDs and MAC addresses. */
#include <stdint.h>

#include "hash.h"
#include "identity.h"

const uint8_t identity_ns_dns[16] = {
	0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
	0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
};

/*
 * 71d7ddaf-1314-5a8e-ac4e-76066aca0dcf, computed once as
 * UUIDv5(identity_ns_dns, "muster.dev") and fixed here; test_identity
 * recomputes it. Changing it would change every VM's UUID.
 */
const uint8_t identity_ns_muster[16] = {
	0x71, 0xd7, 0xdd, 0xaf, 0x13, 0x14, 0x5a, 0x8e,
	0xac, 0x4e, 0x76, 0x06, 0x6a, 0xca, 0x0d, 0xcf,
};

/* UUIDv5 of ns and the concatenation of the nparts strings in parts. */
static int identity_uuid5_parts(const uint8_t ns[16], const char *const *parts,
				 size_t nparts, uint8_t out[16])
{
	uint8_t digest[HASH_SHA1_LEN];
	size_t len = 16, off, i, n;
	_cleanup_free_ uint8_t *data = NULL;

	for (i = 0; i < nparts; i++) {
		n = strlen(parts[i]);
		if (n > SIZE_MAX - len)
			return -1;
		len += n;
	}
	data = malloc(len);
	if (!data)
		return -1;
	memcpy(data, ns, 16);
	off = 16;
	for (i = 0; i < nparts; i++) {
		n = strlen(parts[i]);
		memcpy(data + off, parts[i], n);
		off += n;
	}
	if (hash_sha1(data, len, digest) < 0)
		return -1;

	memcpy(out, digest, 16);
	out[6] = (uint8_t) ((out[6] & 0x0f) | 0x50);	/* version 5 */
	out[8] = (uint8_t) ((out[8] & 0x3f) | 0x80);	/* variant 10 */
	return 0;
}

int identity_uuid5(const uint8_t ns[16], const char *name, uint8_t out[16])
{
	const char *parts[] = { name };

	return identity_uuid5_parts(ns, parts, ARRAY_SIZE(parts), out);
}

void identity_uuid_format(const uint8_t u[16], char out[IDENTITY_UUID_STRLEN])
{
	size_t i;
	char *p = out;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		hash_hex(&u[i], 1, p);
		p += 2;
	}
	*p = '\0';
}

int identity_vm_uuid(const char *fleet, const char *vm,
		     char out[IDENTITY_UUID_STRLEN])
{
	const char *parts[] = { fleet, "/", vm };
	uint8_t u[16];

	if (identity_uuid5_parts(identity_ns_muster, parts, ARRAY_SIZE(parts), u) < 0)
		return -1;
	identity_uuid_format(u, out);
	return 0;
}

/*
 * "<fleet>-<vm><suffix>" into out, at most maxlen bytes long (without the
 * NUL); what is the name of the thing, for the error message.
 */
static int identity_name(const char *what, const char *fleet, const char *vm,
			 const char *suffix, size_t maxlen, char *out,
			 size_t outsz, struct muster_err *err)
{
	size_t flen = strlen(fleet), vlen = strlen(vm), slen = strlen(suffix);
	size_t len;
	int n;

	/* Measured first so that out is untouched on failure. */
	if (flen > SIZE_MAX / 4 || vlen > SIZE_MAX / 4 || slen > SIZE_MAX / 4)
		return err_set(err, MUSTER_E_INVALID, "%s for '%s' is too long",
			       what, vm);
	len = flen + 1 + vlen + slen;
	if (len > maxlen)
		return err_set(err, MUSTER_E_INVALID,
			       "%s '%s-%s%s' is longer than %zu characters",
			       what, fleet, vm, suffix, maxlen);
	if (len >= outsz)
		return err_set(err, MUSTER_E_INVALID,
			       "%s '%s-%s%s' does not fit in %zu bytes",
			       what, fleet, vm, suffix, outsz);
	n = snprintf(out, outsz, "%s-%s%s", fleet, vm, suffix);
	if (n < 0 || (size_t) n != len)
		return err_set(err, MUSTER_E_INVALID, "cannot format %s for '%s'",
			       what, vm);
	return 0;
}

int identity_domain_name(const char *fleet, const char *vm, char *out,
			 size_t outsz, struct muster_err *err)
{
	return identity_name("domain name", fleet, vm, "",
			     IDENTITY_DOMAIN_NAME_MAX, out, outsz, err);
}

int identity_volume_name(const char *fleet, const char *vm, char *out,
			 size_t outsz, struct muster_err *err)
{
	return identity_name("volume name", fleet, vm, ".qcow2", SIZE_MAX,
			     out, outsz, err);
}

int identity_image_volume_name(const char *fleet, const char *image, const char *format,
			       char *out, size_t outsz, struct muster_err *err)
{
	int n = snprintf(out, outsz, "%s-img-%s.%s", fleet, image, format);

	if (n < 0 || (size_t) n >= outsz)
		return err_set(err, MUSTER_E_INVALID, "image '%s': its volume's name is too long",
			       image);
	return 0;
}

bool identity_name_claimed(const char *name, const char *fleet, char *const *fleets, size_t n)
{
	size_t i, len;

	for (i = 0; i < n; i++) {
		len = strlen(fleets[i]);
		if (!streq(fleets[i], fleet) && strncmp(name, fleets[i], len) == 0 &&
		    name[len] == '-')
			return true;
	}
	return false;
}

int identity_seed_volume_name(const char *fleet, const char *vm, char *out,
			      size_t outsz, struct muster_err *err)
{
	return identity_name("seed volume name", fleet, vm, "-seed.iso",
			     SIZE_MAX, out, outsz, err);
}

int identity_mac(const char *fleet, const char *vm, unsigned nic,
		 unsigned probe, uint8_t out[6])
{
	_cleanup_(hash_freep) struct hash_ctx *ctx = NULL;
	uint8_t digest[HASH_SHA256_LEN];
	char suffix[32];	/* "/%u/%u": two numbers of at most 10 digits */
	int n;

	if (probe == 0)
		n = snprintf(suffix, sizeof(suffix), "/%u", nic);
	else
		n = snprintf(suffix, sizeof(suffix), "/%u/%u", nic, probe);
	if (n < 0 || (size_t) n >= sizeof(suffix))
		return -1;

	ctx = hash_sha256_new();
	if (!ctx)
		return -1;
	if (hash_update(ctx, fleet, strlen(fleet)) < 0 ||
	    hash_update(ctx, "/", 1) < 0 ||
	    hash_update(ctx, vm, strlen(vm)) < 0 ||
	    hash_update(ctx, suffix, (size_t) n) < 0 ||
	    hash_final(ctx, digest) < 0)
		return -1;

	out[0] = 0x52;
	out[1] = 0x54;
	out[2] = 0x00;
	memcpy(out + 3, digest, 3);
	return 0;
}

void identity_mac_format(const uint8_t mac[6], char out[IDENTITY_MAC_STRLEN])
{
	size_t i;

	for (i = 0; i < 6; i++) {
		hash_hex(&mac[i], 1, out + 3 * i);
		out[3 * i + 2] = i < 5 ? ':' : '\0';
	}
}

int identity_mac_parse(const char *s, uint8_t out[6])
{
	uint8_t mac[6];
	size_t i;
	int hi, lo;

	if (strlen(s) != IDENTITY_MAC_STRLEN - 1)
		return -1;
	for (i = 0; i < 6; i++) {
		const char *p = s + 3 * i;

		hi = hex_digit(p[0]);
		lo = hex_digit(p[1]);
		if (hi < 0 || lo < 0)
			return -1;
		if (i < 5 && p[2] != ':')
			return -1;
		mac[i] = (uint8_t) (hi << 4 | lo);
	}
	memcpy(out, mac, sizeof(mac));
	return 0;
}
