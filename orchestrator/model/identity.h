/*
 * identity.h: the names, UUIDs and MAC addresses of a VM, derived from its
 * fleet and VM names alone (DESIGN.md, "VM identity"). Pure functions: the
 * same input gives the same output on every run and every machine, so the
 * results must never change once released.
 *
 * The functions that hash return -1 only when OpenSSL cannot allocate; they
 * then leave their output untouched.
 */
#ifndef MUSTER_IDENTITY_H
#define MUSTER_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define IDENTITY_UUID_STRLEN 37		/* "xxxxxxxx-...-xxxxxxxxxxxx" + NUL */
#define IDENTITY_MAC_STRLEN 18		/* "52:54:00:xx:xx:xx" + NUL */
#define IDENTITY_DOMAIN_NAME_MAX 63	/* characters, without the NUL */

/* RFC 9562 namespace for DNS names: 6ba7b810-9dad-11d1-80b4-00c04fd430c8. */
extern const uint8_t identity_ns_dns[16];
/* muster's namespace: UUIDv5(identity_ns_dns, "muster.dev"). */
extern const uint8_t identity_ns_muster[16];

/*
 * RFC 9562 section 5.5 UUID version 5: SHA-1 of the namespace bytes followed
 * by name (without its NUL), version 5, variant 10. Returns 0 or -1.
 */
int identity_uuid5(const uint8_t ns[16], const char *name, uint8_t out[16]) WUR;

/* Lowercase, dashed form of u into out. */
void identity_uuid_format(const uint8_t u[16], char out[IDENTITY_UUID_STRLEN]);

/*
 * The VM's UUID, formatted: UUIDv5 of identity_ns_muster and
 * "<fleet>/<vm>". Returns 0 or -1 (out of memory).
 */
int identity_vm_uuid(const char *fleet, const char *vm,
		     char out[IDENTITY_UUID_STRLEN]) WUR;

/*
 * The libvirt domain name "<fleet>-<vm>" into out (outsz bytes). Returns 0,
 * or -1 with err set (MUSTER_E_INVALID) when the name is longer than
 * IDENTITY_DOMAIN_NAME_MAX bytes or does not fit in out; out is then left
 * untouched.
 */
int identity_domain_name(const char *fleet, const char *vm, char *out,
			 size_t outsz, struct muster_err *err) WUR;

/* The disk volume "<fleet>-<vm>.qcow2"; returns like identity_domain_name
 * but has no length limit of its own beyond outsz. */
int identity_volume_name(const char *fleet, const char *vm, char *out,
			 size_t outsz, struct muster_err *err) WUR;

/* A base image's volume "<fleet>-img-<image>.<format>"; as above. */
int identity_image_volume_name(const char *fleet, const char *image, const char *format,
			       char *out, size_t outsz, struct muster_err *err) WUR;

/* The cloud-init seed volume "<fleet>-<vm>-seed.iso"; as above. */
int identity_seed_volume_name(const char *fleet, const char *vm, char *out,
			      size_t outsz, struct muster_err *err) WUR;

/*
 * Whether name, made "<fleet>-..." by the functions above, could as well be
 * another of fleets' ("<other>-..."): fleet a's network b-lan and fleet
 * a-b's network lan are both a-b-lan. Such a name may not be fleet's, and
 * is left alone.
 */
bool identity_name_claimed(const char *name, const char *fleet, char *const *fleets, size_t n);

/*
 * The MAC of NIC number nic: 52:54:00 followed by the first three bytes of
 * SHA-256 of "<fleet>/<vm>/<nic>" (probe 0) or "<fleet>/<vm>/<nic>/<probe>"
 * (probe >= 1). On a collision the caller tries probe 1, 2, ... and records
 * the MAC it keeps. Returns 0 or -1.
 */
int identity_mac(const char *fleet, const char *vm, unsigned nic,
		 unsigned probe, uint8_t out[6]) WUR;

/* Lowercase colon form "52:54:00:xx:xx:xx" of mac into out. */
void identity_mac_format(const uint8_t mac[6], char out[IDENTITY_MAC_STRLEN]);

/*
 * Parse exactly six colon-separated two-digit hex octets (either case).
 * Returns 0, or -1 with out untouched.
 */
int identity_mac_parse(const char *s, uint8_t out[6]) WUR;

#endif
