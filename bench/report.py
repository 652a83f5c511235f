#!/usr/bin/python3
"""Turns bench/run.sh's raw measurements into the table, results.json,
results.md and an SVG bar chart. Standard library only.

  report.py --raw out/raw.jsonl --meta out/meta.json --json out/results.json
            --md out/results.md --svg ../docs/performance.svg
"""
import argparse
import json
import statistics
import sys
from html import escape

# name: (label, kind); "ours" are sealdrop's own paths, "base" the baselines.
THROUGHPUT = [
    ("sealdrop_upload", "sealdrop-server upload: HTTPS, multipart, sealed, committed", "ours"),
    ("sink_multipart", "tls_sink multipart: HTTPS + httplib multipart parser, discarded", "base"),
    ("sink_raw", "tls_sink raw body: HTTPS only, discarded", "base"),
    ("gpg_default", "gpg --encrypt, default compression (ZLIB)", "base"),
    ("gpg_none", "gpg --encrypt --compress-algo none", "base"),
    ("export", "sealdrop-server export (bundle, fsync)", "ours"),
    ("import", "sealdrop-review import (verify, vault commit)", "ours"),
    ("extract", "sealdrop-review extract (decrypt, fsync)", "ours"),
    ("cp_sync", "cp + fsync of the same bytes", "base"),
    ("dd_fsync", "dd bs=4M conv=fsync (read + write from user space)", "base"),
    ("courier_fetch", "sealdrop-courier fetch from sealdrop-server api (HTTPS, fsync)", "ours"),
    ("https_download", "plain HTTPS download: tls_sink GET, curl -o, fsync", "base"),
]
SHORT = {
    "sealdrop_upload": "sealdrop upload",
    "sink_multipart": "tls_sink multipart",
    "sink_raw": "tls_sink raw",
    "gpg_default": "gpg (ZLIB)",
    "gpg_none": "gpg (no compression)",
    "export": "sealdrop export",
    "import": "sealdrop import",
    "extract": "sealdrop extract",
    "cp_sync": "cp + fsync",
    "dd_fsync": "dd + fsync",
    "courier_fetch": "courier fetch",
    "https_download": "HTTPS download",
}
# The courier's round trip, step by step (seconds); the rows that carry the
# submission's bytes also as MB/s.
COURIER = [
    ("https_download", "baseline: plain HTTPS download (tls_sink GET, curl -o), fsync"),
    ("courier_fetch", "sealdrop-courier fetch (sealdrop-server api, loopback TLS, fsync)"),
    ("courier_fetch_empty", "the same, nothing new: key unlock, handshake, process start"),
    ("courier_import", "sealdrop-review import of the fetched bundle"),
    ("courier_outbox", "sealdrop-review outbox (the acknowledgement)"),
    ("courier_push", "sealdrop-courier push of the outbox"),
    ("courier_delete", "deletion: serve's start, deleting and sweeping the acknowledged one"),
    ("serve_start", "serve's start with nothing to delete, for comparison"),
]
ROUND_TRIP = ("courier_fetch", "courier_import", "courier_outbox", "courier_push", "courier_delete")
SMALL = [
    ("small", "2 KiB submissions, HTTPS (TCP), 2 keep-alive connections"),
    ("small8", "2 KiB submissions, HTTPS (TCP), 8 keep-alive connections"),
    ("small_unix", "the same, plain HTTP on a Unix socket (behind tor)"),
]
CEILINGS = [
    ("chacha_seal_evp", "ChaCha20-Poly1305 seal, OpenSSL (the server, stream v2), 256 KiB chunks"),
    ("chacha_open_sodium", "ChaCha20-Poly1305 open, libsodium (extract, per core), 256 KiB chunks"),
    ("secretstream_push", "secretstream push (stream v1), 256 KiB chunks"),
    ("secretstream_pull", "secretstream pull (stream v1), 256 KiB chunks"),
    ("aes256gcm_16k", "AES-256-GCM, 16 KiB records (TLS 1.3 record crypto)"),
    ("memcpy", "memcpy, 256 KiB blocks"),
]
RATIOS = [
    ("sealdrop upload / tls_sink multipart", "sealdrop_upload", "sink_multipart"),
    ("sealdrop upload / tls_sink raw", "sealdrop_upload", "sink_raw"),
    ("tls_sink multipart / tls_sink raw", "sink_multipart", "sink_raw"),
    ("sealdrop upload / gpg (ZLIB)", "sealdrop_upload", "gpg_default"),
    ("sealdrop upload / gpg (no compression)", "sealdrop_upload", "gpg_none"),
    ("sealdrop extract / cp + fsync", "extract", "cp_sync"),
    ("sealdrop extract / dd + fsync", "extract", "dd_fsync"),
    ("courier fetch / HTTPS download", "courier_fetch", "https_download"),
]


def mbps(nbytes, seconds):
    return nbytes / seconds / 1e6


def summarise(rows):
    by = {}
    for r in rows:
        by.setdefault(r["name"], []).append(r)
    res = {}
    for name, label, kind in THROUGHPUT:
        rs = sorted(by.get(name, []), key=lambda r: r["run"])
        if not rs:
            continue
        secs = [r["seconds"] for r in rs]
        rates = [mbps(r["bytes"], r["seconds"]) for r in rs]
        e = {
            "label": label,
            "kind": kind,
            "bytes": rs[0]["bytes"],
            "runs_seconds": secs,
            "runs_mb_s": [round(x, 1) for x in rates],
            "median_seconds": round(statistics.median(secs), 3),
            "median_mb_s": round(statistics.median(rates), 1),
            "min_mb_s": round(min(rates), 1),
            "max_mb_s": round(max(rates), 1),
        }
        for k in ("rss_kb", "server_cpu_s", "client_cpu_s", "sync_s", "output_bytes",
                  "bundle_bytes", "client_rss_kb"):
            vals = [r[k] for r in rs if k in r]
            if vals:
                e["median_" + k] = statistics.median(vals)
                if k in ("rss_kb", "client_rss_kb"):
                    e["max_" + k] = max(vals)
                    e["runs_" + k] = vals
        res[name] = e
    for name, label in SMALL:
        small = sorted(by.get(name, []), key=lambda r: r["run"])
        if not small:
            continue
        rates = [r["per_second"] for r in small]
        res[name] = {
            "label": label,
            "runs_per_second": rates,
            "median_per_second": round(statistics.median(rates), 1),
            "min_per_second": min(rates),
            "max_per_second": max(rates),
            "errors": sum(r["errors"] for r in small),
            "reconnects": [r["reconnects"] for r in small],
            "seconds": [r["seconds"] for r in small],
            "median_rss_kb": statistics.median(r["rss_kb"] for r in small),
            "max_rss_kb": max(r["rss_kb"] for r in small),
            "median_server_cpu_s": statistics.median(r["server_cpu_s"] for r in small),
        }
    speed = sorted(by.get("crypto_speed", []), key=lambda r: r["run"])
    if speed:
        res["ceilings"] = {
            k: {"label": label, "runs_mb_s": [r[k] for r in speed],
                "median_mb_s": round(statistics.median(r[k] for r in speed), 1)}
            for k, label in CEILINGS}
    st = sorted(by.get("stats_speed", []), key=lambda r: r["run"])
    if st:
        res["stats"] = {
            "cases": st[0]["cases"],
            "runs_build_s_median": [r["build_s_median"] for r in st],
            "median_build_s": round(statistics.median(r["build_s_median"] for r in st), 4),
            "max_build_s": max(r["build_s_max"] for r in st),
            "median_outputs_s": round(statistics.median(
                r["text_s"] + r["csv_s"] + r["svg_s"] for r in st), 4),
            "numbers": st[0]["numbers"], "suppressed": st[0]["suppressed"]}
    if by.get("answers"):
        res["answers"] = by["answers"][0]
    steps = sorted(by.get("step_render", []), key=lambda r: r["run"])
    if steps:
        res["step_render"] = {
            "renders": sum(r["renders"] for r in steps),
            "median_us": statistics.median(r["median_us"] for r in steps),
            "p99_us": max(r["p99_us"] for r in steps),
            "max_us": max(r["max_us"] for r in steps),
            "slowest": max(steps, key=lambda r: r["max_us"])["slowest"],
        }
    starts = sorted(by.get("run_start", []), key=lambda r: r["run"])
    if starts:
        res["loadavg_at_run_start"] = [r["loadavg"] for r in starts]
    # Memory under concurrency.
    conc = sorted(by.get("concurrent", []), key=lambda r: r["run"])
    if conc:
        res["concurrent"] = {
            "uploads": conc[0]["uploads"], "bytes": conc[0]["bytes"],
            "runs_seconds": [r["seconds"] for r in conc],
            "median_seconds": round(statistics.median(r["seconds"] for r in conc), 3),
            "median_mb_s": round(statistics.median(mbps(r["bytes"], r["seconds"]) for r in conc), 1),
            "runs_rss_kb": [r["rss_kb"] for r in conc],
            "max_rss_kb": max(r["rss_kb"] for r in conc),
            "median_rss_kb": statistics.median(r["rss_kb"] for r in conc),
            "median_server_cpu_s": statistics.median(r["server_cpu_s"] for r in conc),
        }
    # Scale: median seconds per (command, n).
    scale = {}
    for name in ("scale_export", "scale_list", "scale_export_all", "scale_import", "scale_all_new"):
        for r in by.get(name, []):
            scale.setdefault(name, {}).setdefault(str(r["n"]), []).append(r["seconds"])
    if scale:
        res["scale"] = {k: {n: {"runs_seconds": v, "median_seconds": round(statistics.median(v), 4)}
                            for n, v in d.items()} for k, d in scale.items()}
        pops = by.get("populate", [])
        res["scale"]["populate"] = {str(r["n"]): {"seconds": r["seconds"],
                                                  "per_second": r["per_second"]} for r in pops}
    unl = by.get("unlock", [])
    if unl:
        u = statistics.median(r["seconds"] for r in unl)
        res["unlock"] = {"runs_seconds": [r["seconds"] for r in unl],
                         "median_seconds": round(u, 3)}
        if "extract" in res:
            ex = res["extract"]
            net = ex["median_seconds"] - u
            res["extract_minus_unlock"] = {
                "label": "sealdrop-review extract minus key unlock",
                "median_seconds": round(net, 3),
                "median_mb_s": round(ex["bytes"] / net / 1e6, 1)}
    courier = courier_summary(by)
    if courier:
        res["courier"] = courier
    loads = by.get("loadavg_samples", [])
    if loads:
        res["loadavg_samples"] = loads[0]
    ratios = []
    for label, a, b in RATIOS:
        if a in res and b in res:
            ratios.append({"ratio": label, "a": a, "b": b,
                           "value": round(res[a]["median_mb_s"] / res[b]["median_mb_s"], 3)})
    c = res.get("courier", {})
    for k, what in (("fetch_minus_unlock", "courier fetch minus key unlock / HTTPS download"),
                    ("round_trip", "courier round trip (fetch, import, outbox, push, deletion) / "
                                   "HTTPS download")):
        if k in c and "https_download" in res:
            ratios.append({"ratio": what, "a": "courier." + k, "b": "https_download",
                           "value": round(c[k]["median_mb_s"] / res["https_download"]["median_mb_s"], 3)})
    if "extract_minus_unlock" in res:
        for b in ("cp_sync", "dd_fsync"):
            if b in res:
                ratios.append({"ratio": "sealdrop extract minus key unlock / " + SHORT[b],
                               "a": "extract_minus_unlock", "b": b,
                               "value": round(res["extract_minus_unlock"]["median_mb_s"]
                                              / res[b]["median_mb_s"], 3)})
    return res, ratios


def courier_summary(by):
    """The courier's steps (median seconds of the runs), the fetch minus the
    key unlock, the round trip, peak RSS at both sizes, the store's sizes."""
    c = {}
    med = statistics.median
    for name, label in COURIER:
        rs = sorted(by.get(name, []), key=lambda r: r["run"])
        if not rs:
            continue
        e = {"label": label, "runs_seconds": [r["seconds"] for r in rs],
             "median_seconds": round(med(r["seconds"] for r in rs), 4)}
        if rs[0]["bytes"]:
            e["bytes"] = rs[0]["bytes"]
            e["median_mb_s"] = round(med(mbps(r["bytes"], r["seconds"]) for r in rs), 1)
        for k in ("rss_kb", "client_rss_kb", "server_cpu_s", "client_cpu_s", "bundle_bytes",
                  "sealed_before", "sealed_after", "in_use_before", "in_use_after",
                  "file_before", "file_after"):
            vals = [r[k] for r in rs if k in r]
            if vals:
                e["median_" + k] = med(vals)
                if k.endswith("rss_kb"):
                    e["max_" + k] = max(vals)
        c[name] = e
    small = sorted(by.get("courier_fetch_small", []), key=lambda r: r["run"])
    if small:
        c["courier_fetch_small"] = {
            "bytes": small[0]["bytes"],
            "runs_seconds": [r["seconds"] for r in small],
            "max_rss_kb": max(r["rss_kb"] for r in small),
            "max_client_rss_kb": max(r["client_rss_kb"] for r in small)}
    if "courier_fetch" in c and "courier_fetch_empty" in c:
        f = c["courier_fetch"]
        net = f["median_seconds"] - c["courier_fetch_empty"]["median_seconds"]
        if net > 0:
            c["fetch_minus_unlock"] = {
                "label": "sealdrop-courier fetch minus the fetch of nothing new",
                "median_seconds": round(net, 4), "median_mb_s": round(f["bytes"] / net / 1e6, 1)}
    # The fetch and the download of each run are taken side by side: their
    # ratio run by run shows how much of the ratio of medians is noise.
    fetch = {r["run"]: r for r in by.get("courier_fetch", [])}
    down = {r["run"]: r for r in by.get("https_download", [])}
    paired = [down[n]["seconds"] / fetch[n]["seconds"] for n in sorted(fetch) if n in down]
    if paired:
        c["fetch_vs_download_by_run"] = {"runs": [round(x, 3) for x in paired],
                                         "median": round(med(paired), 3)}
    if all(k in c for k in ROUND_TRIP):
        total = sum(c[k]["median_seconds"] for k in ROUND_TRIP)
        c["round_trip"] = {"label": "fetch + import + outbox + push + deletion (sum of medians)",
                           "median_seconds": round(total, 4),
                           "median_mb_s": round(c["courier_fetch"]["bytes"] / total / 1e6, 1)}
    return c


def targets(meta, res):
    """(figure, value text, target text, met?) rows for the issue's targets."""
    rows = []
    lim = 128 * 1024
    # Throughput ratios, of median MB/s: (a, b, at least, what).
    for a, b, least in (("sealdrop_upload", "sink_multipart", 0.8),
                        ("sealdrop_upload", "sink_raw", 0.5),
                        ("sealdrop_upload", "gpg_default", 10.0),
                        ("sealdrop_upload", "gpg_none", 1.5),
                        ("extract", "cp_sync", 0.6),
                        ("extract_minus_unlock", "cp_sync", 0.6)):
        if a in res and b in res and res[b]["median_mb_s"] > 0:
            v = res[a]["median_mb_s"] / res[b]["median_mb_s"]
            what = "sealdrop extract minus key unlock" if a == "extract_minus_unlock" else SHORT[a]
            rows.append(("%s / %s" % (what, SHORT[b]), "%.2f" % v, ">= %g" % least, v >= least))
    if "sealdrop_upload" in res and "max_rss_kb" in res["sealdrop_upload"]:
        kb = res["sealdrop_upload"]["max_rss_kb"]
        rows.append(("server peak RSS (VmHWM), one %g MiB upload (max of runs)"
                     % (meta["size_bytes"] / 1048576), mib(kb), "< 32 MiB", kb < 32 * 1024))
    if "concurrent" in res:
        c = res["concurrent"]
        kb = c["max_rss_kb"]
        rows.append(("server peak RSS (VmHWM), %d concurrent %d MiB uploads (max of runs)"
                     % (c["uploads"], meta.get("concurrent_mib", 64)), mib(kb), "< 128 MiB",
                     kb < lim))
    for n in ("small", "small8"):
        if n in res:
            v = res[n]["median_per_second"]
            rows.append(("2 KiB submissions/s, two recipients, HTTPS keep-alive, %s connections"
                         % ("2" if n == "small" else "8"), "%.0f/s" % v, ">= 1000/s", v >= 1000))
    sc = res.get("scale", {})
    small, big = str(meta.get("scale_small", 1000)), str(meta.get("scale_big", 100000))
    for k, what in (("scale_export", "export of 100 new"), ("scale_list", "review list (newest 100)")):
        d = sc.get(k, {})
        if small in d and big in d:
            a, b = d[small]["median_seconds"], d[big]["median_seconds"]
            ratio = b / a if a > 0 else float("inf")
            rows.append(("%s: %s vs %s stored (median of %d)" % (what, big, small, len(d[big]["runs_seconds"])),
                         "%.3f s vs %.3f s = %.2fx" % (b, a, ratio), "<= 1.5x", ratio <= 1.5))
    for n, r in sorted(sc.get("scale_all_new", {}).items(), key=lambda kv: int(kv[0])):
        per = int(n) / r["median_seconds"] if r["median_seconds"] > 0 else float("inf")
        rows.append(("extract --all-new of %s small submissions, one unlock" % n,
                     "%.0f items/s" % per, ">= 1000 items/s", per >= 1000))
    c = res.get("courier", {})
    if "https_download" in res:
        base = res["https_download"]["median_mb_s"]
        for a, what in (("courier_fetch", "courier fetch / HTTPS download"),
                        ("fetch_minus_unlock", "courier fetch minus key unlock / HTTPS download")):
            e = res.get(a) or c.get(a)
            if e and base > 0:
                v = e["median_mb_s"] / base
                rows.append((what, "%.2f" % v, ">= 0.5", v >= 0.5))
    small = c.get("courier_fetch_small")
    big = c.get("courier_fetch")
    if small and big:
        for k, who in (("max_rss_kb", "sealdrop-server api"), ("max_client_rss_kb", "sealdrop-courier")):
            grow = big[k] - small[k]
            rows.append(("%s peak RSS, fetch of %g MiB vs %g MiB (max of runs)" % (
                who, big["bytes"] / 1048576, small["bytes"] / 1048576),
                "%s vs %s (%+.1f MiB)" % (mib(big[k]), mib(small[k]), grow / 1024),
                "grows < 8 MiB", grow < 8 * 1024))
    return rows


def mib(kb):
    return "%.1f MiB" % (kb / 1024)


def tables(meta, res, ratios):
    size_mib = meta["size_bytes"] / 1048576
    lines = []
    if any(name in res for name, _, _ in THROUGHPUT):
        lines.append("| Measurement (%g MiB) | MB/s (median) | runs, MB/s | median s | peak RSS |"
                     % size_mib)
        lines.append("|---|---:|---|---:|---:|")
    for name, _, _ in THROUGHPUT:
        if name not in res:
            continue
        e = res[name]
        rss = mib(e["median_rss_kb"]) if "median_rss_kb" in e else ""
        if "max_rss_kb" in e and e["max_rss_kb"] != e["median_rss_kb"]:
            rss += " (max %s)" % mib(e["max_rss_kb"])
        lines.append("| %s | **%.0f** | %s | %.2f | %s |" % (
            e["label"], e["median_mb_s"], ", ".join("%.0f" % x for x in e["runs_mb_s"]),
            e["median_seconds"], rss))
    smalls = [n for n, _ in SMALL if n in res]
    if smalls:
        lines.append("")
        lines.append("| Small submissions (%d s each) | per second (median) | runs | errors | server CPU s | peak RSS |"
                     % round(meta["small_seconds"]))
        lines.append("|---|---:|---|---:|---:|---:|")
        for n in smalls:
            e = res[n]
            lines.append("| %s | **%.1f** | %s | %d | %.2f | %s |" % (
                e["label"], e["median_per_second"],
                ", ".join("%.1f" % x for x in e["runs_per_second"]), e["errors"],
                e["median_server_cpu_s"], mib(e["median_rss_kb"])))
    if ratios:
        lines.append("")
        lines.append("| Ratio (of median MB/s) | value |")
        lines.append("|---|---:|")
    for r in ratios:
        lines.append("| %s | **%.2f** |" % (r["ratio"], r["value"]))
    if "ceilings" in res:
        lines.append("")
        lines.append("| Single-core ceiling, no I/O (crypto_speed) | MB/s (median) | s per GiB |")
        lines.append("|---|---:|---:|")
        for k, _ in CEILINGS:
            c = res["ceilings"][k]
            lines.append("| %s | %.0f | %.2f |" % (c["label"], c["median_mb_s"],
                                                  1073.741824 / c["median_mb_s"]))
    if "stats" in res:
        st = res["stats"]
        lines.append("")
        lines.append("| Statistics (stats_speed) | cases | Build, s (median) | Build, s (max) "
                     "| text + CSV + SVG, s | numbers published / hidden |")
        lines.append("|---|---:|---:|---:|---:|---|")
        lines.append("| stats::Build, five tables | %d | %.3f | %.3f | %.4f | %d / %d |" % (
            st["cases"], st["median_build_s"], st["max_build_s"], st["median_outputs_s"],
            st["numbers"] - st["suppressed"], st["suppressed"]))
    if "answers" in res:
        an = res["answers"]
        lines.append("")
        lines.append("| Questionnaire answers (answers.py), %d submissions | s |" % an["n"])
        lines.append("|---|---:|")
        for key, label in (("list_key_first", "list --key, first (builds the index)"),
                           ("list_key", "list --key (median)"),
                           ("stats", "stats (median)"),
                           ("unlock_show_one", "the unlock alone (median)"),
                           ("list_key_after_unlock", "list --key after the unlock"),
                           ("stats_after_unlock", "stats after the unlock (target 2 s)")):
            lines.append("| %s | %.3f |" % (label, an[key]))
    if "step_render" in res:
        e = res["step_render"]
        lines.append("")
        lines.append("| Questionnaire step page (step_render, %d renders) | median | p99 | slowest |" % e["renders"])
        lines.append("|---|---:|---:|---:|")
        lines.append("| IndexPage + StepBlock, no HTTP | %.0f µs | %.0f µs | %.0f µs (%s) |" % (
            e["median_us"], e["p99_us"], e["max_us"], e["slowest"]))
    lines.extend(courier_table(meta, res.get("courier", {})))
    cpu = []
    for name in ("sealdrop_upload", "sink_multipart", "sink_raw"):
        if name in res and "median_server_cpu_s" in res[name]:
            e = res[name]
            cpu.append("| %s | %.2f | %.2f | %.2f |" % (
                SHORT[name], e["median_seconds"], e["median_server_cpu_s"],
                e["median_client_cpu_s"]))
    if cpu:
        lines.append("")
        lines.append("| Upload CPU (median) | wall s | server CPU s | curl CPU s |")
        lines.append("|---|---:|---:|---:|")
        lines.extend(cpu)
    tr = targets(meta, res)
    if tr:
        lines.append("")
        lines.append("| Target (issue) | measured | target | met? |")
        lines.append("|---|---:|---:|---|")
        for f, v, t, ok in tr:
            lines.append("| %s | **%s** | %s | %s |" % (f, v, t, "met" if ok else "**not met**"))
    if "concurrent" in res:
        c = res["concurrent"]
        lines.append("")
        lines.append("Concurrent uploads: %d x %.0f MiB in %s s (median %.2f s, %.0f MB/s aggregate); "
                     "server peak RSS per run: %s; server CPU %.1f s." % (
                         c["uploads"], c["bytes"] / c["uploads"] / 1048576,
                         ", ".join("%.2f" % x for x in c["runs_seconds"]), c["median_seconds"],
                         c["median_mb_s"], ", ".join(mib(x) for x in c["runs_rss_kb"]),
                         c["median_server_cpu_s"]))
    sc = res.get("scale")
    if sc:
        lines.append("")
        lines.append("| Scale (seconds, median; runs) | %s |" % " | ".join(
            "%s stored" % n for n in sorted(sc.get("scale_list", {}), key=int)))
        ns = sorted(sc.get("scale_list", {}), key=int)
        lines.append("|---|" + "---:|" * len(ns))
        for k, label in (("scale_export", "sealdrop-server export, 100 new"),
                         ("scale_list", "sealdrop-review list --vault (newest 100)"),
                         ("scale_export_all", "export of all (once)"),
                         ("scale_import", "import of all into a fresh vault (once)")):
            if k in sc:
                lines.append("| %s | %s |" % (label, " | ".join(
                    "%.3f (%s)" % (sc[k][n]["median_seconds"],
                                   ", ".join("%.3f" % x for x in sc[k][n]["runs_seconds"]))
                    if n in sc[k] else "" for n in ns)))
        if sc.get("populate"):
            lines.append("| populate (Form + Writer, 32 threads), per second | %s |" % " | ".join(
                "%.0f" % sc["populate"][n]["per_second"] if n in sc["populate"] else "" for n in ns))
    if "unlock" in res:
        u = res["unlock"]
        lines.append("")
        lines.append("Key unlock (extract of one 2 KiB submission): median %.3f s (runs %s)." % (
            u["median_seconds"], ", ".join("%.3f" % x for x in u["runs_seconds"])))
        if "extract_minus_unlock" in res:
            e = res["extract_minus_unlock"]
            lines.append("Extract of the %g MiB file minus the unlock: %.3f s, **%.0f MB/s**." % (
                meta["size_bytes"] / 1048576, e["median_seconds"], e["median_mb_s"]))
    if "loadavg_samples" in res:
        l = res["loadavg_samples"]
        lines.append("")
        lines.append("1-minute load average sampled every 5 s during the run: mean %.2f, min %.2f, "
                     "max %.2f (%d samples, %d CPUs)." % (l["mean"], l["min"], l["max"], l["n"],
                                                          meta["nproc"]))
    if "loadavg_at_run_start" in res:
        loads = res["loadavg_at_run_start"]
        lines.append("")
        lines.append("Load average (1, 5, 15 min) at the start of each run: " + "; ".join(
            " ".join(str(x) for x in l) for l in loads) + ".")
        if max(float(l[0]) for l in loads) > meta["nproc"]:
            lines.append("**Warning:** the 1-minute load average exceeded the %d CPUs: other work "
                         "shared the machine, so these figures are depressed and noisy."
                         % meta["nproc"])
    return "\n".join(lines)


def courier_table(meta, c):
    if not c:
        return []
    lines = ["", "| Courier round trip (%g MiB) | median s | runs, s | MB/s | peak RSS |"
             % (meta["size_bytes"] / 1048576), "|---|---:|---|---:|---|"]
    for name, _ in COURIER:
        if name not in c:
            continue
        e = c[name]
        rss = []
        if "max_rss_kb" in e:
            rss.append("%s %s" % ("tls_sink" if name == "https_download" else "API", mib(e["max_rss_kb"])))
        if "max_client_rss_kb" in e:
            rss.append("%s %s" % ("curl" if name == "https_download" else "courier",
                                  mib(e["max_client_rss_kb"])))
        lines.append("| %s | **%.3f** | %s | %s | %s |" % (
            e["label"], e["median_seconds"], ", ".join("%.3f" % x for x in e["runs_seconds"]),
            "%.0f" % e["median_mb_s"] if "median_mb_s" in e else "", ", ".join(rss)))
    for k in ("fetch_minus_unlock", "round_trip"):
        if k in c:
            e = c[k]
            lines.append("| %s | %.3f | | %.0f | |" % (e["label"], e["median_seconds"], e["median_mb_s"]))
    p = c.get("fetch_vs_download_by_run")
    if p:
        lines.append("")
        lines.append("Courier fetch / HTTPS download, run by run (each pair taken side by side): "
                     "%s; median %.2f." % (", ".join("%.2f" % x for x in p["runs"]), p["median"]))
    d = c.get("courier_delete")
    if d and "median_sealed_before" in d:
        lines.append("")
        lines.append("The deletion: sealed bytes in the store %d -> %d; LMDB pages in use %s -> %s "
                     "(free pages are reused, the data file stays %s -> %s)." % (
                         d["median_sealed_before"], d["median_sealed_after"],
                         mib(d["median_in_use_before"] / 1024), mib(d["median_in_use_after"] / 1024),
                         mib(d["median_file_before"] / 1024), mib(d["median_file_after"] / 1024)))
    small, big = c.get("courier_fetch_small"), c.get("courier_fetch")
    if small and big:
        lines.append("Peak RSS (max of runs), fetch of %g MiB vs %g MiB: sealdrop-server api %s vs %s; "
                     "sealdrop-courier %s vs %s (the fetch of nothing new: %s)." % (
                         big["bytes"] / 1048576, small["bytes"] / 1048576, mib(big["max_rss_kb"]),
                         mib(small["max_rss_kb"]), mib(big["max_client_rss_kb"]),
                         mib(small["max_client_rss_kb"]),
                         mib(c["courier_fetch_empty"]["max_client_rss_kb"])
                         if "courier_fetch_empty" in c else "?"))
    if big and "median_server_cpu_s" in big and "https_download" in c:
        h = c["https_download"]
        lines.append("CPU seconds (median): fetch, API %.2f and courier %.2f; HTTPS download, "
                     "tls_sink %.2f and curl + sync %.2f." % (
                         big["median_server_cpu_s"], big["median_client_cpu_s"],
                         h["median_server_cpu_s"], h["median_client_cpu_s"]))
    return lines


def header(meta):
    return ("%s; %d CPUs (%s), %.0f GiB RAM; %s, kernel %s; sealdrop %s; "
            "%d runs, medians; %s; %s; %s" % (
                meta["date"], meta["nproc"], meta["cpu"], meta["memory_gib"], meta["os"],
                meta["kernel"], meta["commit"], meta["runs"], meta["curl"].split(" (")[0],
                meta["openssl"], meta["gpg"]))


def svg(meta, res):
    items = [(n, res[n]) for n, _, _ in THROUGHPUT if n in res]
    if not items:
        return None
    top = max(e["max_mb_s"] for _, e in items)
    step = 100 if top <= 1200 else 200
    axis_max = (int(top / step) + 1) * step
    left, width, bar_h, gap, title_h = 170, 560, 22, 10, 58
    height = title_h + len(items) * (bar_h + gap) + 46
    total_w = left + width + 80
    x = lambda v: left + v / axis_max * width
    colors = {"ours": "#2f6f9f", "base": "#9a9a9a"}
    o = []
    o.append('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
             'viewBox="0 0 %d %d" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">'
             % (total_w, height, total_w, height))
    o.append('<rect width="100%" height="100%" fill="#ffffff"/>')
    o.append('<text x="10" y="20" font-size="15" font-weight="bold">sealdrop throughput, '
             '%g MiB, MB/s (median of %d; whiskers: min to max)</text>'
             % (meta["size_bytes"] / 1048576, meta["runs"]))
    o.append('<text x="10" y="38" fill="#555">%s, %d CPUs (%s)</text>'
             % (escape(meta["date"]), meta["nproc"], escape(meta["cpu"])))
    base_y = title_h
    axis_bottom = base_y + len(items) * (bar_h + gap)
    v = 0
    while v <= axis_max:
        xv = x(v)
        o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e4e4e4"/>'
                 % (xv, base_y - 4, xv, axis_bottom))
        o.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%d</text>'
                 % (xv, axis_bottom + 14, v))
        v += step
    o.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">MB/s (10^6 bytes per second)</text>'
             % (left + width / 2, axis_bottom + 32))
    for i, (name, e) in enumerate(items):
        y = base_y + i * (bar_h + gap)
        o.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>'
                 % (left - 8, y + bar_h / 2 + 4, escape(SHORT[name])))
        o.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %.0f MB/s</title></rect>'
                 % (left, y, x(e["median_mb_s"]) - left, bar_h, colors[e["kind"]],
                    escape(e["label"]), e["median_mb_s"]))
        ym = y + bar_h / 2
        o.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#222"/>'
                 % (x(e["min_mb_s"]), ym, x(e["max_mb_s"]), ym))
        for vv in (e["min_mb_s"], e["max_mb_s"]):
            o.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#222"/>'
                     % (x(vv), ym - 5, x(vv), ym + 5))
        o.append('<text x="%.1f" y="%.1f">%.0f</text>'
                 % (max(x(e["max_mb_s"]), x(e["median_mb_s"])) + 6, ym + 4, e["median_mb_s"]))
    lx = left
    for kind, text in (("ours", "sealdrop"), ("base", "baseline")):
        o.append('<rect x="%d" y="44" width="10" height="10" fill="%s"/>' % (lx + 300, colors[kind]))
        o.append('<text x="%d" y="53">%s</text>' % (lx + 314, text))
        lx += 90
    o.append("</svg>")
    return "\n".join(o) + "\n"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--raw", required=True)
    p.add_argument("--meta", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--md", required=True)
    p.add_argument("--svg")
    a = p.parse_args()
    rows = [json.loads(l) for l in open(a.raw) if l.strip()]
    meta = json.load(open(a.meta))
    res, ratios = summarise(rows)
    with open(a.json, "w") as f:
        json.dump({"meta": meta, "results": res, "ratios": ratios, "raw": rows}, f, indent=2)
        f.write("\n")
    table = tables(meta, res, ratios)
    with open(a.md, "w") as f:
        f.write("# sealdrop benchmark results\n\n%s\n\nMB = 10^6 bytes; the payload is the "
                "%g MiB file.\n\n%s\n" % (header(meta), meta["size_bytes"] / 1048576, table))
    if a.svg:
        s = svg(meta, res)
        if s:
            with open(a.svg, "w") as f:
                f.write(s)
    print()
    print(header(meta))
    print()
    print(table)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
