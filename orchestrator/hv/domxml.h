/*
 * domxml.h: libvirt XML that muster reads and writes (libxml2; the only user
 * of it): muster's <metadata> element, which marks a domain as muster's own
 * (DESIGN.md "VM identity"), the domain and network XML `muster apply`
 * defines, and what muster reads back from libvirt's live XML.
 *
 * Every document is built as a libxml2 tree, never pasted together from
 * strings: a value goes in as an attribute or as text and stays a value,
 * whatever markup it holds. Values libvirt would refuse, or that would
 * reach a program other than libvirt unescaped (dnsmasq's host file, QEMU's
 * option syntax), are refused with MUSTER_E_INVALID before anything is
 * built. Text values are UTF-8 without control characters, at most
 * DOMXML_VALUE_MAX bytes.
 */
#ifndef MUSTER_DOMXML_H
#define MUSTER_DOMXML_H

#include <stdbool.h>

#include "err.h"
#include "proto.h"
#include "views.h"

/* muster's XML namespace for domain metadata, and the prefix it is written with. */
#define DOMXML_NS "https://muster.dev/xmlns/domain/1"
#define DOMXML_NS_PREFIX "muster"

/* libvirt's namespace for QEMU pass-through (<qemu:commandline>). */
#define DOMXML_QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

/* The guest agent's virtio-serial port (DESIGN.md "Agent protocol"). */

#define DOMXML_VALUE_MAX 4096	/* bytes in one text value */
#define DOMXML_MAX_NICS 16	/* a user NIC N takes PCI slot 0x10 + N: 0x10..0x1f */
#define DOMXML_MAX_FORWARDS 64	/* hostfwd rules on one user NIC */
#define DOMXML_MAX_HOSTS 65536	/* DHCP host entries in one network */
#define DOMXML_SOCKET_PATH_MAX 107	/* sun_path holds 108 bytes with the NUL */

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

/* ---- domains ------------------------------------------------------------ */

enum domxml_nic_kind {
	DOMXML_NIC_NETWORK,	/* a libvirt network: <interface type='network'> */
	DOMXML_NIC_BRIDGE,	/* a host bridge: <interface type='bridge'> */
	DOMXML_NIC_OVS_VLAN,	/* an Open vSwitch bridge, one VLAN tag */
	DOMXML_NIC_USER,	/* QEMU user-mode networking with host forwards */
	DOMXML_NIC_KIND_MAX
};

/* "network", "bridge", "ovs-vlan", "user"; NULL when out of range. */
const char *domxml_nic_kind_to_string(enum domxml_nic_kind k);
/* The kind named s, or -1. */
int domxml_nic_kind_from_string(const char *s);

/* TCP host_addr:host_port on the host to guest_port in the guest. */
struct domxml_forward {
	const char *host_addr;	/* IPv4 dotted quad, e.g. 127.0.0.1 */
	unsigned host_port;	/* 1..65535: the caller allocates; 0 is refused */
	unsigned guest_port;	/* 1..65535 */
};

struct domxml_nic {
	enum domxml_nic_kind kind;
	const char *source;	/* NETWORK: the network name; BRIDGE, OVS_VLAN: the bridge; USER: NULL */
	unsigned vlan;		/* OVS_VLAN: 1..4094; else 0 */
	unsigned mtu;		/* BRIDGE, OVS_VLAN: <mtu size>, 68..65535; 0 = the bridge's */
	const char *mac;	/* xx:xx:xx:xx:xx:xx, unicast; written lowercase.
				   Required for USER; NULL elsewhere lets libvirt choose */
	const struct domxml_forward *forwards;	/* USER only */
	size_t n_forwards;
	bool unrestricted;	/* USER only: restrict=off, the guest may open connections out
				   through QEMU (10.0.2.2 is the host's 127.0.0.1); false:
				   restrict=on, it reaches nothing but its forwards */
};

struct domxml_domain {
	const char *type;	/* "kvm" | "qemu" (TCG) | "xen" */
	const char *name;	/* no '/' (libvirt refuses it) */
	const char *uuid;	/* required: a redefinition with another UUID fails */
	const struct domxml_meta *meta;	/* required, fleet and vm set: marks the domain muster's */
	unsigned vcpus;			/* 1..4096 */
	unsigned long long memory_kib;	/* 1..2^53-1 (libvirt's limit) */
	const char *kernel, *initrd, *cmdline;	/* direct kernel boot when kernel != NULL;
						   kernel and initrd absolute paths */
	unsigned long long tcg_tb_cache_mib;	/* 0 = QEMU's default; only with type qemu */
	const char *disk_pool, *disk_volume;	/* the VM's qcow2 disk, a pool volume, required */
	const char *seed_pool, *seed_volume;	/* the cidata ISO as a read-only cdrom, or NULL */
	const struct domxml_nic *nics;
	size_t n_nics;				/* at most DOMXML_MAX_NICS */
	const char *channel_path;	/* unix socket for AGENT_PROTO_PORT_NAME (absolute, at most
					   DOMXML_SOCKET_PATH_MAX bytes); NULL lets libvirt choose */
	const char *console_log;	/* serial console log file (absolute), or NULL */
	bool destroy_on_reboot;		/* <on_reboot>destroy</on_reboot> (test guests with panic=-1) */
	const char *smbios_serial;	/* the SMBIOS system serial number (cloud-init reads
					   ds=nocloud-net;s=URL there), or NULL; printable ASCII,
					   at most DOMXML_SERIAL_MAX bytes; not on xen */
};

#define DOMXML_SERIAL_MAX 512

/*
 * The libvirt domain XML for d (caller frees), or NULL with err set
 * (MUSTER_E_INVALID naming the field, or MUSTER_E_NOMEM).
 *
 * Per type: kvm adds <cpu mode='host-passthrough'/>; qemu may add
 * <features><tcg><tb-cache>; USER NICs (kvm, qemu only) become
 * <qemu:commandline> arguments "-netdev user,id=mnetN,restrict=on,
 * hostfwd=tcp:ADDR:PORT-:GPORT..." (restrict=off when unrestricted) and "-device virtio-net-pci,netdev=mnetN,
 * mac=MAC,addr=0x1N", N the NIC's index, as libvirt 9.0 has no element for
 * user-mode host forwards. An SMBIOS serial becomes <os><smbios mode='sysinfo'/>
 * and <sysinfo type='smbios'><system><entry name='serial'>. Disks and NICs are virtio, the seed a SATA cdrom;
 * on xen (which has no virtio) the disk is xvda on the xen bus, the seed an
 * IDE cdrom hdc, NICs have no model (PV netfront) and the agent channel's
 * target is type 'xen' (libxl refuses virtio channels).
 * The machine type is left to libvirt. There is always a pty serial console.
 */
char *domxml_domain_format(const struct domxml_domain *d, struct muster_err *err) WUR;

/* ---- networks ----------------------------------------------------------- */

/* A static address: dnsmasq gives ip (and name, if set) to mac. */
struct domxml_dhcp_host {
	const char *mac;	/* unicast MAC */
	const char *ip;		/* inside the network, not its network or broadcast address */
	const char *name;	/* NULL or a host name: letters, digits, '-', '.', '_' */
};

struct domxml_network {
	const char *name;	/* no '/' */
	const char *uuid;	/* NULL: libvirt makes one. libvirt refuses to define a network
				   of an existing name with another UUID, so to redefine one
				   pass the UUID it has (virNetworkGetUUIDString) */
	const char *mode;	/* "nat" | "isolated" | "bridge" | "ovs-vlan" */
	const char *bridge;	/* bridge, ovs-vlan: the existing host bridge (required);
				   nat, isolated: NULL lets libvirt pick virbrN */
	unsigned vlan;		/* ovs-vlan: 1..4094; else 0 */
	unsigned mtu;		/* nat, isolated: <mtu size>, 68..65535; 0 = the default */
	const char *address;	/* nat, isolated: the gateway, e.g. 10.20.0.1; else NULL */
	unsigned prefix;	/* nat, isolated: 1..30 */
	const char *dhcp_start, *dhcp_end;	/* nat, isolated: a range in the subnet, or both NULL */
	const struct domxml_dhcp_host *hosts;	/* nat, isolated: static addresses */
	size_t n_hosts;				/* at most DOMXML_MAX_HOSTS, no MAC or IP twice */
};

/*
 * The libvirt network XML for n (caller frees), or NULL with err set.
 * nat: <forward mode='nat'/>; isolated: no <forward>; both with
 * <ip address prefix><dhcp><range/><host/>... and <mtu size/> when set; bridge: <forward mode='bridge'/>
 * <bridge name/>; ovs-vlan: that and <virtualport type='openvswitch'/>
 * <vlan><tag id/></vlan>.
 */
char *domxml_network_format(const struct domxml_network *n, struct muster_err *err) WUR;

/* ---- storage ----------------------------------------------------------------- */

/* A directory storage pool at path (mode 0711: qemu reaches volumes, cannot list). */
char *domxml_pool_format(const char *name, const char *path, struct muster_err *err) WUR;

struct domxml_volume {
	const char *name;
	unsigned long long capacity;	/* bytes, > 0 */
	const char *format;		/* "qcow2", "raw" */
	const char *backing_path;	/* a linked clone's base volume, or NULL */
	const char *backing_format;	/* stated, never probed: required with backing_path */
};

/* A volume, mode 0600, with its backing store and the backing store's format. */
char *domxml_volume_format(const struct domxml_volume *v, struct muster_err *err) WUR;

/* ---- reading live XML --------------------------------------------------- */

/*
 * From a domain's XML (virDomainGetXMLDesc of a running domain), the unix
 * socket of the channel whose target is named channel_name: *ret (caller
 * frees). Errors: MUSTER_E_NOTFOUND when the domain has no such channel or
 * it has no path yet (libvirt fills it in at start); MUSTER_E_INVALID when
 * the XML is not a domain or the channel is not a unix socket.
 * *ret is left alone on failure.
 */
int domxml_channel_path(const char *domain_xml, const char *channel_name, char **ret,
			struct muster_err *err) WUR;

/*
 * From a domain's XML, the log file of its first serial port: *ret (caller
 * frees), or NULL when it logs nowhere. *ret is left alone on failure.
 */
int domxml_console_log(const char *domain_xml, char **ret, struct muster_err *err) WUR;

/*
 * Whether a network's XML (virNetworkGetXMLDesc) is what
 * domxml_network_format(want) defines: same name, mode, bridge (nat and
 * isolated: only when want names one), VLAN tag, gateway address, prefix,
 * DHCP range and hosts (as a set: order does not matter; MACs compare
 * case-insensitively). The UUID, and what libvirt adds (the bridge's MAC,
 * stp, NAT port range), are not compared. *ret is set on success; -1 when live_xml is
 * not a network or want is invalid.
 */
/* The DHCP hosts of a live network (release with domxml_hosts_free; strings are owned). */
int domxml_network_hosts(const char *live_xml, struct domxml_dhcp_host **ret, size_t *ret_n,
			 struct muster_err *err) WUR;
void domxml_hosts_free(struct domxml_dhcp_host *h, size_t n);
/* One <host mac= name= ip=/> element, for virNetworkUpdate. */
char *domxml_dhcp_host_format(const struct domxml_dhcp_host *h, struct muster_err *err) WUR;
/*
 * A live network's DHCP range (the first <range> of its <ip>): *start and
 * *end (caller frees), both NULL when it has none.
 */
int domxml_network_range(const char *live_xml, char **start, char **end,
			 struct muster_err *err) WUR;
/* One <range start= end=/> element, for virNetworkUpdate. */
char *domxml_dhcp_range_format(const char *start, const char *end, struct muster_err *err) WUR;

int domxml_network_matches(const char *live_xml, const struct domxml_network *want, bool *ret,
			   struct muster_err *err) WUR;

/*
 * The facts of a domain definition (facts.h): muster's metadata hashes,
 * memory, vCPUs, direct kernel boot, disks, interfaces. What is absent
 * stays empty (0, NULL); *ret is released with facts_release.
 */
int domxml_facts_parse(const char *domain_xml, struct domain_facts *ret,
		       struct muster_err *err) WUR;

/*
 * From a volume's XML (virStorageVolGetXMLDesc): its path, capacity (in
 * bytes, as libvirt writes it; 0 when not), format, backing store path and
 * format, and modification time, into *ret (the caller sets exists and
 * frees the strings).
 */
int domxml_volume_facts(const char *vol_xml, struct listed_volume *ret,
			struct muster_err *err) WUR;

/*
 * libxml2's global set-up (xmlInitParser): call once from main, before any
 * thread starts; libxml2 asks for it in a threaded program, and workers
 * build domain XML while libvirt validates it with libxml2 too.
 */
void domxml_init(void);

#endif
