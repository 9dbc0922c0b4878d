/* hosts.c: the fleet's hypervisors and their connections (hosts.h). */
#include <stdlib.h>
#include <string.h>

#include "hosts.h"
#include "common.h"

int hosts_init(const char *connect, const struct manifest *m, struct hosts *ret,
	       struct muster_err *err)
{
	const char *single = connect ? connect : m->hypervisor;
	size_t i, n = single ? 1 : m->n_hosts;

	memset(ret, 0, sizeof(*ret));
	ret->h = calloc(n + 1, sizeof(*ret->h));
	ret->hv = calloc(n + 1, sizeof(*ret->hv));
	ret->down = calloc(n + 1, sizeof(*ret->down));
	ret->memory = calloc(n + 1, sizeof(*ret->memory));
	pthread_mutex_init(&ret->down_lock, NULL);
	if (!ret->h || !ret->hv || !ret->down || !ret->memory) {
		hosts_release(ret);
		return err_nomem(err);
	}
	ret->n = n;
	for (i = 0; i < n; i++) {
		ret->h[i].uri = single ? single : m->hosts[i].uri;
		ret->h[i].max_vms = single ? 0 : m->hosts[i].max_vms;
		ret->memory[i] = single ? 0 : m->hosts[i].memory;
	}
	return 0;
}

int hosts_hv(struct hosts *hosts, size_t i, struct hv **ret, struct muster_err *err)
{
	*ret = NULL;
	if (hosts_is_down(hosts, i, err))
		return -1;
	if (!hosts->hv[i] && hv_open(hosts->h[i].uri, &hosts->hv[i], err) < 0) {
		hosts->hv[i] = NULL;
		hosts_set_down(hosts, i, err);	/* not asked again for each of its VMs */
		return -1;
	}
	*ret = hosts->hv[i];
	return 0;
}

void hosts_set_down(struct hosts *hosts, size_t i, const struct muster_err *why)
{
	if (hosts->n < 2 || i >= hosts->n)
		return;
	pthread_mutex_lock(&hosts->down_lock);
	if (hosts->down[i].code == MUSTER_OK) {
		hosts->down[i] = *why;
		hosts->h[i].down = true;	/* placement's (read before any worker runs) */
		if (hosts->down[i].code == MUSTER_OK)
			hosts->down[i].code = MUSTER_E_HV;
	}
	pthread_mutex_unlock(&hosts->down_lock);
}

bool hosts_is_down(struct hosts *hosts, size_t i, struct muster_err *why)
{
	bool down;

	if (i >= hosts->n)
		return false;
	pthread_mutex_lock(&hosts->down_lock);
	down = hosts->down[i].code != MUSTER_OK;
	if (down && why)
		*why = hosts->down[i];
	pthread_mutex_unlock(&hosts->down_lock);
	return down;
}

ssize_t hosts_find(const struct hosts *hosts, const char *uri)
{
	size_t i;

	for (i = 0; uri && i < hosts->n; i++)
		if (streq(hosts->h[i].uri, uri))
			return (ssize_t) i;
	return -1;
}

void hosts_release(struct hosts *hosts)
{
	size_t i;

	for (i = 0; hosts->hv && i < hosts->n; i++)
		hv_free(hosts->hv[i]);
	free(hosts->hv);
	free(hosts->h);
	if (hosts->down)
		pthread_mutex_destroy(&hosts->down_lock);
	free(hosts->down);
	free(hosts->memory);
	memset(hosts, 0, sizeof(*hosts));
}

bool hosts_local(const struct hosts *hosts, size_t i)
{
	const char *p = strstr(hosts->h[i].uri, "://");

	return p && p[3] == '/';
}

bool hosts_all_local(const struct hosts *hosts)
{
	size_t i;

	for (i = 0; i < hosts->n; i++)
		if (!hosts_local(hosts, i))
			return false;
	return true;
}
