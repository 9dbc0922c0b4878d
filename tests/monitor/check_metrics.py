"""Checks of `muster serve`'s /metrics after a run, for tests/monitor/run.

    check_metrics.py METRICS SUMMARY DB FLEET [EXPECT.json]

METRICS is the body of GET /metrics, read with the Prometheus Python
client's parser (python3-prometheus-client: a parser muster's authors did
not write). SUMMARY is the run's `--json` summary (one JSON object), DB the
state database. Checks that FLEET's last run in the metrics is SUMMARY's
(id, command, outcome, start and end to the millisecond, exit status), its
VMs by action and result and its failures by class are the summary's
counts, each step's histogram is whole (cumulative buckets, +Inf equal to
_count) and counts the run's transitions as the database has them; EXPECT
(a JSON object) may fix more: "states" (muster_vms), "failures_total",
"steps" (a step's count). Prints one line per problem; exit 1 if any.
"""
import json
import sqlite3
import sys

from prometheus_client.parser import text_string_to_metric_families

CLASSES = ["clone", "seed", "define", "start", "stop", "destroy", "installer",
           "ready_timeout", "agent", "host", "image", "other"]
STEPS = ["clone", "seed", "define", "start", "boot", "ready", "installer"]
INSTALLED = "installed: running its own disk"
INSTALLER = "installer running"


def transitions(db, run):
    """Each step's transitions of the run, counted from its events as recorded:
    a VM's move to the step's state (define: from seeded) that is not its
    first event of the run; an installed system's start."""
    con = sqlite3.connect(db)
    rows = con.execute("SELECT vm_id, from_state, to_state, detail FROM events"
                       " WHERE run_id = ? ORDER BY id", (run,)).fetchall()
    con.close()
    seen, count = set(), dict.fromkeys(STEPS, 0)
    to_step = {"cloned": "clone", "seeded": "seed", "started": "start",
               "booted": "boot", "ready": "ready"}
    for vm, frm, to, detail in rows:
        first = vm not in seen
        seen.add(vm)
        if detail == INSTALLED:
            # since its installer's start, when that was in this run
            count["installer"] += any(r[0] == vm and r[3] == INSTALLER for r in rows)
            continue
        if first or frm == to:
            continue
        if to == "defined" and frm == "seeded":
            count["define"] += 1
        elif to in to_step:
            count[to_step[to]] += 1
    return count


def main(argv):
    metrics, summary, db, fleet = argv[1:5]
    expect = json.loads(argv[5]) if len(argv) > 5 else {}
    problems = []

    def check(cond, what):
        if not cond:
            problems.append(what)

    with open(summary) as f:
        run = json.load(f)
    families = {}
    with open(metrics) as f:
        for fam in text_string_to_metric_families(f.read()):
            check(fam.name not in families, "family %s given twice" % fam.name)
            check(fam.documentation, "family %s has no HELP" % fam.name)
            families[fam.name] = fam

    def samples(name, suffix=""):
        fam = families.get(name)
        if fam is None:
            problems.append("no family %s" % name)
            return []
        return [s for s in fam.samples if s.name == name + suffix and s.labels.get("fleet") == fleet]

    types = {"muster_vms": "gauge", "muster_last_run_info": "gauge",
             "muster_last_run_start_time_seconds": "gauge",
             "muster_last_run_end_time_seconds": "gauge",
             "muster_last_run_exit_status": "gauge", "muster_last_run_vms": "gauge",
             "muster_last_run_failures": "gauge", "muster_vm_failures": "counter",
             "muster_step_duration_seconds": "histogram"}
    for name, t in types.items():
        check(name in families and families[name].type == t, "%s is not a %s" % (name, t))

    info = samples("muster_last_run_info")
    check(len(info) == 1, "muster_last_run_info: %d samples, want 1" % len(info))
    if info:
        lab = info[0].labels
        check(lab.get("run") == str(run["run"]) and lab.get("command") == run["command"] and
              lab.get("outcome") == run["outcome"] and info[0].value == 1,
              "muster_last_run_info %s %s, want run %s %s %s" % (lab, info[0].value, run["run"],
                                                                 run["command"], run["outcome"]))
    for name, key in (("muster_last_run_start_time_seconds", "started_at"),
                      ("muster_last_run_end_time_seconds", "ended_at")):
        s = samples(name)
        check(len(s) == 1 and abs(s[0].value * 1000 - run[key]) < 0.5,
              "%s %s, want %s ms" % (name, [x.value for x in s], run[key]))
    s = samples("muster_last_run_exit_status")
    check(len(s) == 1 and s[0].value == run["exit_status"],
          "muster_last_run_exit_status %s, want %s" % ([x.value for x in s], run["exit_status"]))

    # the VMs by action and result: the summary's own, VM by VM
    want = {}
    for vm in run["vms"]:
        want[(vm["action"], vm["result"])] = want.get((vm["action"], vm["result"]), 0) + 1
    got = {(s.labels["action"], s.labels["result"]): s.value for s in samples("muster_last_run_vms")}
    check(got == want, "muster_last_run_vms %s, want %s" % (got, want))
    got = {s.labels["class"]: s.value for s in samples("muster_last_run_failures")}
    want = {c: run["counts"]["failures"].get(c, 0) for c in CLASSES}
    check(got == want, "muster_last_run_failures %s, want %s" % (got, want))
    if "failures_total" in expect:
        got = {s.labels["class"]: s.value for s in samples("muster_vm_failures", "_total")}
        want = {c: expect["failures_total"].get(c, 0) for c in CLASSES}
        check(got == want, "muster_vm_failures_total %s, want %s" % (got, want))
    if "states" in expect:
        got = {s.labels["state"]: s.value for s in samples("muster_vms")}
        for state, n in expect["states"].items():
            check(got.get(state) == n, "muster_vms{state=%s} %s, want %s" % (state, got.get(state), n))

    # each step's histogram: whole, and counting the run's transitions
    db_count = transitions(db, run["run"])
    span = (run["ended_at"] - run["started_at"]) / 1000.0
    for step in STEPS:
        buckets = [s for s in samples("muster_step_duration_seconds", "_bucket")
                   if s.labels.get("step") == step]
        count = [s.value for s in samples("muster_step_duration_seconds", "_count")
                 if s.labels.get("step") == step]
        total = [s.value for s in samples("muster_step_duration_seconds", "_sum")
                 if s.labels.get("step") == step]
        if len(count) != 1 or len(total) != 1 or not buckets:
            problems.append("step %s: %d _count, %d _sum, %d buckets" % (step, len(count), len(total),
                                                                        len(buckets)))
            continue
        les = [float(b.labels["le"]) for b in buckets]
        vals = [b.value for b in buckets]
        check(les == sorted(les) and les[-1] == float("inf"), "step %s: le %s" % (step, les))
        check(vals == sorted(vals), "step %s: buckets not cumulative %s" % (step, vals))
        check(vals[-1] == count[0], "step %s: +Inf %s, _count %s" % (step, vals[-1], count[0]))
        check(count[0] == db_count[step],
              "step %s: _count %s, the run's transitions %s" % (step, count[0], db_count[step]))
        check(0 <= total[0] <= count[0] * (span + 1),
              "step %s: _sum %s for %s in a run of %ss" % (step, total[0], count[0], span))
        if step in expect.get("steps", {}):
            check(count[0] == expect["steps"][step],
                  "step %s: _count %s, want %s" % (step, count[0], expect["steps"][step]))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
