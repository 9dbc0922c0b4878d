#!/usr/bin/env python3
"""check.py MANIFEST KICKSTART KEYDIR: read a kickstart muster rendered the way
pykickstart reads it, and check that every value of the manifest came back as
it was written. Prints TAP lines without numbers ("ok - ...", "not ok - ...");
tests/kickstart/run numbers them.

pykickstart (parser.py) is not packaged for Debian, so its reading is
rebuilt here from its source: the file is cut with str.splitlines(); outside
sections a line that is not blank or a comment is shlex.split(line,
comments=True), and a first token starting with '%' opens a section; inside
one, a line whose first word (str.split()) is a known section, %end or
%include is a section line, anything else belongs to the section.

Checks: the %-lines are exactly the template's (no value opened or closed a
section); every shell section passes sh -n and bash -n; for el9.ks and
fedora.ks the command lines give the tokens the manifest asks for, the
packages are the manifest's, the host keys decode to the key files, and the
agent download and the report give curl exactly the arguments expected; for
probe.ks each value comes back from every place it was put (shlex for
command lines, sh -c and bash -c for shell lines, as it is from comments).
"""
import hashlib
import ipaddress
import hmac
import os
import re
import shlex
import subprocess
import sys

import yaml

SCRIPTS = {"%pre", "%pre-install", "%post", "%onerror", "%traceback"}
SECTIONS = SCRIPTS | {"%packages", "%addon", "%anaconda", "%certificate"}


def tap(ok, what, detail=""):
    print(("ok - " if ok else "not ok - ") + what)
    if not ok and detail:
        for line in str(detail).splitlines():
            print("# " + line)
    return ok


class KsError(Exception):
    pass


def parse(text):
    """(%-lines, commands as token lists with their raw line, sections as (header tokens, lines))."""
    lines = text.splitlines(True)
    headers, commands, sections = [], [], []
    section = None
    for lineno, line in enumerate(lines, 1):
        if section is None:
            if line.isspace() or line == "" or line.lstrip()[0] == "#":
                continue
            args = shlex.split(line, comments=True)
            if args[0] in ("%include", "%ksappend"):
                headers.append(line.rstrip("\n"))
            elif args[0][0] == "%":
                if args[0] not in SECTIONS:
                    raise KsError("line %d: unknown section %s" % (lineno, args[0]))
                headers.append(line.rstrip("\n"))
                section = (args, [])
            else:
                commands.append((args, line.rstrip("\n")))
            continue
        if line.lstrip().startswith("%"):
            word = line.split()[0]
            if word in SECTIONS or word in ("%end", "%include"):
                args = shlex.split(line)
                headers.append(line.rstrip("\n"))
                if args[0] == "%end":
                    sections.append(section)
                    section = None
                    continue
                if args[0] == "%include":
                    continue
                raise KsError("line %d: section %s does not end with %%end" % (lineno, section[0][0]))
        section[1].append(line)
    if section is not None:
        raise KsError("section %s does not end with %%end" % section[0][0])
    return headers, commands, sections


def interpreter(header):
    for i, a in enumerate(header):
        if a.startswith("--interpreter="):
            return a.split("=", 1)[1]
        if a == "--interpreter" and i + 1 < len(header):
            return header[i + 1]
    return "/bin/sh"


def run_sh(shell, script):
    r = subprocess.run([shell, "-c", script], capture_output=True)
    if r.returncode != 0:
        raise KsError("%s -c failed (%d): %s" % (shell, r.returncode, r.stderr.decode(errors="replace")))
    return r.stdout


def curl_args(script):
    """The arguments a curl command line of the kickstart gives curl (curl is a stub)."""
    out = run_sh("sh", "curl() { for a; do printf '%s\\0' \"$a\"; done; }\n" + script)
    return out.decode().split("\0")[:-1]


def pubkey(keyfile):
    out = subprocess.run(["ssh-keygen", "-y", "-f", keyfile], capture_output=True, check=True)
    return " ".join(out.stdout.decode().split()[:2])


def check_common(template, headers, sections):
    want = [l for l in template.splitlines() if l.lstrip().startswith("%")]
    tap(headers == want, "the %-lines are exactly the template's",
        "got:  %r\nwant: %r" % (headers, want))
    for header, body in sections:
        if header[0] not in SCRIPTS or os.path.basename(interpreter(header)) not in ("sh", "bash"):
            continue
        for shell in ("sh", "bash"):
            r = subprocess.run([shell, "-n"], input="".join(body).encode(), capture_output=True)
            tap(r.returncode == 0, "%s -n accepts %s" % (shell, " ".join(header)), r.stderr.decode())


def check_os(m, flavour, commands, sections, keydir, text):
    g = next(iter(m["groups"].values()))
    ks = g["kickstart"]
    var = ks.get("vars") or {}
    user = (m.get("ssh") or {}).get("user", "muster")
    vm = g["names"][0]
    fqdn = "%s.%s" % (vm, m["domain"]) if m.get("domain") else None
    by = {}
    for args, _ in commands:
        by.setdefault(args[0], []).append(args)
    kb = var.get("keyboard", "us")
    want = {
        "url": [["url", "--url=" + ks["install_tree"]]],
        "lang": [["lang", var.get("lang", "en_US.UTF-8")]],
        "keyboard": [["keyboard", "--vckeymap=" + kb, "--xlayouts=" + kb]],
        "timezone": [["timezone", var.get("timezone", "UTC"), "--utc"]],
        "user": [["user", "--name=" + user, "--groups=wheel", "--lock"]],
        "rootpw": [["rootpw", "--lock"]],
    }
    for cmd, w in want.items():
        tap(by.get(cmd) == w, "command %s gives %r" % (cmd, w), "got: %r" % by.get(cmd))

    keys = (m.get("ssh") or {}).get("authorized_keys")
    got = by.get("sshkey", [])
    if keys:
        tap(got == [["sshkey", "--username=" + user, k] for k in keys],
            "one sshkey per authorized key, each one token", "got: %r" % got)
    else:
        admin = pubkey(os.path.join(keydir, "..", "_admin", "id_ed25519"))
        tap(len(got) == 1 and got[0][:2] == ["sshkey", "--username=" + user] and
            got[0][2].startswith(admin + " "), "sshkey gives the fleet's admin key", "got: %r" % got)

    nics = g.get("networks") or []
    nets = by.get("network", [])
    ok = len(nets) == max(1, len(nics))
    for i, nic in enumerate(nics):
        if not ok:
            break
        line = nets[i]
        ip = nic.get("ip") if isinstance(nic, dict) else None
        ok = line[1].startswith("--device=52:54:00:") and (
            ("--bootproto=static" in line and "--ip=" + ip.split("/")[0] in line) if ip
            else "--bootproto=dhcp" in line)
    ok = ok and ("--hostname=" + (fqdn or vm)) in nets[0]
    tap(ok, "network lines: one per NIC, by MAC, DHCP or static, the first names the host",
        "got: %r" % nets)

    # what each NIC is told of its network, the defaults worked out here
    # from the manifest as the README states them (one default route: the
    # first NIC with an address of muster's whose network has a gateway)
    routes_want = []
    gateway_taken = False  # the first static NIC with a gateway is the default route
    for i, nic in enumerate(nics):
        if i >= len(nets):
            break
        name = nic["network"] if isinstance(nic, dict) else nic
        net = m["networks"][name]
        static = isinstance(nic, dict) and "ip" in nic
        first = None
        if "subnet" in net:
            first = str(ipaddress.ip_network(net["subnet"])[1])
        gw = {"nat": first}.get(net["type"])
        if "gateway" in net:
            gw = None if net["gateway"] == "none" else net["gateway"]
        dns = [first] if net["type"] in ("nat", "isolated") else []
        if "dns" in net:
            dns = [] if net["dns"] == "none" else net["dns"]
        search = net.get("search", [m["domain"]] if m.get("domain") else [])
        want_tok = []
        if static:
            mine = gw and not gateway_taken
            gateway_taken = gateway_taken or bool(gw)
            want_tok.append("--gateway=" + gw if mine else "--nodefroute")
        if dns and (static or "dns" in net):
            want_tok.append("--nameserver=" + ",".join(dns))
        if search and (static or "search" in net):
            want_tok.append("--ipv4-dns-search=" + ",".join(search))
        if "mtu" in net:
            want_tok.append("--mtu=%d" % net["mtu"])
        opts = [t for t in nets[i] if t.split("=")[0] in
                ("--gateway", "--nodefroute", "--nameserver", "--ipv4-dns-search", "--mtu")]
        tap(opts == want_tok, "network line %d: gateway, name servers, search domains and MTU "
            "of network '%s' as the manifest says" % (i, name), "got: %r\nwant: %r" % (opts, want_tok))
        for n, r in enumerate(net.get("routes", []), 1):
            routes_want.append((i, n, "%s,%s%s" % (r["to"], r["via"],
                                                   ",%d" % r["metric"] if "metric" in r else "")))
    post = "".join("".join(b) for h, b in sections if h[0] == "%post")
    got_routes = [shlex.split(l) for l in post.splitlines() if l.startswith("muster_route ")]
    ok = len(got_routes) == len(routes_want)
    for (i, n, spec), line in zip(routes_want, got_routes):
        ok = ok and line[1] == nets[i][1].split("=", 1)[1] and line[2] == str(n) and line[3] == spec
    tap(ok, "%%post routes: one muster_route per route of the NICs' networks (%d)" % len(routes_want),
        "got: %r\nwant: %r" % (got_routes, routes_want))

    scripts = [s for s in sections if s[0][0] == "%post"]
    pkgs = [s for s in sections if s[0][0] == "%packages"]
    want_pkgs = ["@core", "openssh-server", "curl"] + var.get("extra_packages", "").split()
    got_pkgs = [l.strip() for l in pkgs[0][1] if l.strip() and not l.lstrip().startswith("#")] if pkgs else None
    tap(got_pkgs == want_pkgs, "%packages lists @core, openssh-server, curl and extra_packages",
        "got: %r" % got_pkgs)

    post = "".join(scripts[0][1]) if scripts else ""
    types = (m.get("ssh") or {}).get("host_key_types", ["ed25519"])
    found = []
    try:
        for word, path in re.findall(r"^printf '%s' (\S+) \| base64 -d > (\S+)$", post, re.M):
            data = run_sh("sh", "printf '%s' " + word + " | base64 -d")
            dest = run_sh("sh", "printf %s " + path).decode()
            name = os.path.basename(dest)
            with open(os.path.join(keydir, name), "rb") as f:
                if f.read() != data:
                    raise KsError("%s does not decode to the key file" % dest)
            found.append(dest)
        want_paths = ["/etc/ssh/ssh_host_%s_key" % t for t in types]
        tap(found == want_paths, "%post writes each host key, decoded from base64 as it was",
            "got: %r\nwant: %r" % (found, want_paths))
    except (KsError, OSError) as e:
        tap(False, "%post writes each host key, decoded from base64 as it was", e)
    mode = {"el9": ("root:ssh_keys", "0640"), "fedora": ("root:root", "0600")}[flavour]
    tap(all(("chown %s '/etc/ssh/ssh_host_%s_key'" % (mode[0], t)) in post and
            ("chmod %s '/etc/ssh/ssh_host_%s_key'" % (mode[1], t)) in post for t in types),
        "private host keys are %s, mode %s" % mode)

    endpoint = (m.get("endpoint") or "").rstrip("/")
    if not endpoint:
        tap("curl" not in post and "no endpoint" in post,
            "no endpoint: no agent, no report, and a comment says so")
        return
    try:
        agent = re.search(r"^curl -fsS --retry 5 -o /usr/local/sbin/muster-agent .*$", post, re.M)
        got = curl_args(agent.group(0)) if agent else None
        tap(got == ["-fsS", "--retry", "5", "-o", "/usr/local/sbin/muster-agent", endpoint + "/agent"],
            "the agent comes from the endpoint's /agent", "got: %r" % got)
        tap("ExecStart=/usr/local/sbin/muster-agent --ready-now" in post and
            "systemctl enable muster-agent.service" in post,
            "the agent's unit runs it with --ready-now and is enabled")
        report = re.search(r"^curl -fsS --retry 5 -o /dev/null \\\n(?:.*\\\n)*.*\|\| echo .*$", post, re.M)
        got = curl_args(report.group(0)) if report else None
        want = ["-fsS", "--retry", "5", "-o", "/dev/null",
                "--data-urlencode", "instance_id=" + vm, "--data-urlencode", "hostname=" + vm]
        if fqdn:
            want += ["--data-urlencode", "fqdn=" + fqdn]
        for t in types:
            want += ["--data-urlencode", "pub_key_%s=%s" % (t, pubkey(os.path.join(keydir, "ssh_host_%s_key" % t)))]
        # the report key, derived here with Python's hmac: HMAC-SHA256 of
        # "muster report key", fleet and VM (NUL between) under the first
        # host key, its first 128 bits
        with open(os.path.join(keydir, "ssh_host_%s_key" % types[0]), "rb") as f:
            key = hmac.new(f.read(), b"\0".join([b"muster report key", m["fleet"].encode(),
                                                 vm.encode()]), hashlib.sha256).hexdigest()[:32]
        want.append("%s/phone-home/%s/%s" % (endpoint, vm, key))
        tap(got == want, "the report posts phone_home's fields to the endpoint, with the VM's report key",
            "got:  %r\nwant: %r" % (got, want))
        tap(post.rstrip().splitlines()[-1].endswith("|| echo 'muster: the report to the endpoint failed' >&2"),
            "the report is the last step of %post")
    except KsError as e:
        tap(False, "the agent and the report", e)


def check_probe(m, template, text, commands, sections):
    var = next(iter(m["groups"].values()))["kickstart"]["vars"]
    bad = []
    lines = [0]

    def saw(name, kind, got, want):
        if got != want:
            bad.append("%s (%s): got %r, want %r" % (name, kind, got, want))

    for line in text.splitlines():
        mc = re.match(r"# @(\w+) comment (.*)$", line, re.S)
        if mc:
            saw(mc.group(1), "comment", mc.group(2), var[mc.group(1)])
            lines[0] += 1
    for args, line in commands:
        if " # @" not in line:
            continue
        name, kind = line.rsplit(" # @", 1)[1].split(" ")
        v = var[name]
        want = {"opt": ["lang", "--addsupport=" + v, "en_US.UTF-8"],
                "dq": ["lang", "--addsupport=" + v, "en_US.UTF-8"],
                "sq": ["lang", "--addsupport=" + v, "en_US.UTF-8"],
                "mid": ["lang", "--addsupport=x" + v + "x", "en_US.UTF-8"],
                "pos": ["timezone", v, "--utc"]}[kind]
        saw(name, kind, args, want)
        lines[0] += 1
    for header, body in sections:
        where = " ".join(header)
        if header[0] == "%packages":
            saw("pkgs", where, [l.strip() for l in body if l.strip()], var["pkgs"].split())
            continue
        for line in body:
            line = line.rstrip("\n")
            mc = re.match(r": # @(\w+) comment (.*)$", line, re.S)
            if mc:
                saw(mc.group(1), where + ", comment", mc.group(2), var[mc.group(1)])
                lines[0] += 1
                continue
            if " # @" not in line:
                continue
            name = line.rsplit(" # @", 1)[1]
            for sh in sorted({"sh", os.path.basename(interpreter(header))}):
                try:
                    got = run_sh(sh, line).decode()
                except KsError as e:
                    got = str(e)
                saw(name, where + ", " + sh + " -c", got, var[name])
            lines[0] += 1
    tap(not bad, "every hostile value comes back as it was, from every place", "\n".join(bad))
    tagged = sum(1 for l in template.splitlines() if re.search(r"(^|^: | )# @\w+", l))
    tap(lines[0] == tagged, "every tagged line of probe.ks was checked (%d)" % tagged,
        "checked %d of %d" % (lines[0], tagged))


def main():
    manifest, rendered, keydir = sys.argv[1:4]
    with open(manifest, encoding="utf-8") as f:
        m = yaml.safe_load(f)
    tpath = os.path.join(os.path.dirname(manifest), next(iter(m["groups"].values()))["kickstart"]["template"])
    with open(tpath, encoding="utf-8") as f:
        template = f.read()
    with open(rendered, encoding="utf-8") as f:
        text = f.read()
    try:
        headers, commands, sections = parse(text)
    except (KsError, ValueError) as e:
        tap(False, "pykickstart's reading of it", e)
        return
    tap(True, "pykickstart's reading of it: %d commands, %d sections" % (len(commands), len(sections)))
    check_common(template, headers, sections)
    base = os.path.basename(tpath)
    if base in ("el9.ks", "fedora.ks"):
        check_os(m, base[:-3], commands, sections, keydir, text)
    elif base == "probe.ks":
        check_probe(m, template, text, commands, sections)


if __name__ == "__main__":
    main()
