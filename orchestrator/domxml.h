/*
 * domxml.h: libvirt XML that muster reads and writes (libxml2; the only user
 * of it). For now: muster's <metadata> element, which marks a domain as
 * muster's own (DESIGN.md "VM identity").
 */
#ifndef MUSTER_DOMXML_H
#define MUSTER_DOMXML_H

#include "err.h"

/* muster's XML namespace for domain metadata, and the prefix it is written with. */
#define DOMXML_NS "https://muster.dev/xmlns/domain/1"
#define DOMXML_NS_PREFIX "muster"

struct domxml_meta {
	char *fleet;
	char *vm;
	char *group;
	char *config_hash;	/* what a redefinition can change */
	char *base_hash;	/* what needs a rebuild */
};

/*
 * Parse the element libvirt returns for virDomainGetMetadata(DOMXML_NS):
 * <vm fleet=".." name=".." group=".." config=".." base=".."/>, in muster's
 * namespace or (as libvirt returns it) in none.
 * fleet and name are required. On success fills *ret (release with
 * domxml_meta_release).
 */
int domxml_meta_parse(const char *xml, struct domxml_meta *ret, struct muster_err *err) WUR;

/* The metadata element as XML text (caller frees), or NULL on failure. */
char *domxml_meta_format(const struct domxml_meta *meta, struct muster_err *err) WUR;

void domxml_meta_release(struct domxml_meta *meta);

#endif
