/*
 * hosts.h: the fleet's hypervisors: a URI that overrides the manifest
 * (--connect), else its `hypervisor`, else its `hosts:`, each with a
 * connection opened on first use and kept for the run.
 */
#ifndef MUSTER_HOSTS_H
#define MUSTER_HOSTS_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"
#include "hv.h"
#include "manifest.h"
#include "placement.h"

struct hosts {
	struct placement_host *h;	/* n of them: URI and capacity */
	struct hv **hv;			/* per host: its connection, or NULL until used */
	size_t n;
};

/* The hosts of m, or the one URI connect (not NULL). Release with hosts_release. */
int hosts_init(const char *connect, const struct manifest *m, struct hosts *ret,
	       struct muster_err *err) WUR;

/* Host i's connection, opened now if need be (it stays the struct's). */
int hosts_hv(struct hosts *hosts, size_t i, struct hv **ret, struct muster_err *err) WUR;

/* The index of the host with that URI, or -1 (also for NULL). */
ssize_t hosts_find(const struct hosts *hosts, const char *uri);

/* Whether every host is this machine (a URI with no host name: qemu:///system). */
bool hosts_all_local(const struct hosts *hosts);

void hosts_release(struct hosts *hosts);

#endif
