/*
 * hosts.h: the fleet's hypervisors: a URI that overrides the manifest
 * (--connect), else its `hypervisor`, else its `hosts:`, each with a
 * connection opened on first use and kept for the run, and whether it is
 * down: it could not be reached when the run started, or was lost since.
 * A host down stays down for the rest of the run: its VMs fail with its
 * error, at once, and the other hosts' VMs go on.
 */
#ifndef MUSTER_HOSTS_H
#define MUSTER_HOSTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "hv.h"
#include "manifest.h"
#include "placement.h"

struct hosts {
	struct placement_host *h;	/* n of them: URI and capacity */
	struct hv **hv;			/* per host: its connection, or NULL until used */
	uint64_t *memory;		/* per host: the manifest's `memory:` for it; 0: none */
	size_t n;
	/* per host: why it is down (code MUSTER_OK: it is not); under down_lock */
	struct muster_err *down;
	pthread_mutex_t down_lock;
};

/* The hosts of m, or the one URI connect (not NULL). Release with hosts_release. */
int hosts_init(const char *connect, const struct manifest *m, struct hosts *ret,
	       struct muster_err *err) WUR;

/*
 * Host i's connection, opened now if need be (it stays the struct's). A
 * host down fails with its error; one that cannot be connected to is down
 * from then on.
 */
int hosts_hv(struct hosts *hosts, size_t i, struct hv **ret, struct muster_err *err) WUR;

/*
 * Record host i down, with why (the first reason stays), from any thread.
 * Only a fleet of more than one host has a host down: with one, its error
 * is the run's.
 */
void hosts_set_down(struct hosts *hosts, size_t i, const struct muster_err *why);

/* Whether host i is down; why it is into *why (may be NULL). Any thread. */
bool hosts_is_down(struct hosts *hosts, size_t i, struct muster_err *why);

/* The index of the host with that URI, or -1 (also for NULL). */
ssize_t hosts_find(const struct hosts *hosts, const char *uri);

/* Whether host i is this machine (a URI with no host name: qemu:///system). */
bool hosts_local(const struct hosts *hosts, size_t i);

/* Whether every host is this machine (hosts_local). */
bool hosts_all_local(const struct hosts *hosts);

void hosts_release(struct hosts *hosts);

#endif
