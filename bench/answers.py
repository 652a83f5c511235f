#!/usr/bin/python3
"""Reading questionnaire answers at scale: a vault of N submissions with
answers (fill_vault, from the build's tests/integration), then

  1. `sealdrop-review list --key` the first time, which builds the sealed
     index of all N (as import would have);
  2. `list --key` again, `--reps` times: the index read, urgency judged,
     urgent cases first (the newest 100 shown);
  3. `sealdrop-review stats --key`, `--reps` times: every case counted once
     per source into the five tables, read from the index;
  4. the unlock alone, `--reps` times: `show` of one submission, to subtract.

  answers.py --review BIN --fill-vault BIN --questionnaire TOML [--n 100000]
             [--reps 5] [--keep DIR]

The answers are drawn at random (seed 1) from ten requesting countries and
the questionnaire's kinds; 1 in 4 detained, 1 in 10 with a hearing date,
7 in 10 with a reply key among 30,000 sources; days over the last year.
Prints one JSON object (seconds; medians). Standard library only.
"""
import argparse
import datetime
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time


def timed(args):
    t0 = time.monotonic()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--review", required=True)
    ap.add_argument("--fill-vault", required=True)
    ap.add_argument("--questionnaire", required=True)
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--keep", help="work in this directory and keep it")
    a = ap.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="sealdrop-answers-")
    os.makedirs(work, exist_ok=True)
    try:
        key, passfile, vault = (os.path.join(work, x) for x in ("r.key", "pass", "vault"))
        with open(passfile, "w") as f:
            f.write("bench pass phrase\n")
        subprocess.run([a.review, "keygen", "--out", key, "--passphrase-file", passfile],
                       check=True, stdout=subprocess.DEVNULL)
        qhash = hashlib.blake2b(open(a.questionnaire, "rb").read(), digest_size=32).hexdigest()
        rnd = random.Random(1)
        today = datetime.date.today()
        subs = []
        for _ in range(a.n):
            pairs = [["role", ["targeted"]],
                     ["requesting_country", [rnd.choice(["RU", "TR", "TJ", "CN", "EG", "AE",
                                                         "BY", "KZ", "AZ", "IR"])]],
                     ["kind", [rnd.choice(["red_notice", "diffusion", "other_colour",
                                           "unknown"])]],
                     ["detained", ["yes" if rnd.random() < 0.25 else "no"]]]
            if rnd.random() < 0.1:
                d = today + datetime.timedelta(days=rnd.randint(-20, 60))
                pairs.append(["hearing_date", [d.isoformat()]])
            s = {"day_offset": -rnd.randint(0, 364), "message": "x" * rnd.randint(50, 500),
                 "answers": {"questionnaire": "red-notice", "hash": qhash, "list": pairs}}
            if rnd.random() < 0.7:
                s["reply_key"] = "%064x" % rnd.randint(1, 30000)
            subs.append(s)
        spec = os.path.join(work, "spec.json")
        with open(spec, "w") as f:
            json.dump({"submissions": subs}, f)
        t_fill = timed([a.fill_vault, vault, key + ".pub", spec])
        subprocess.run([a.review, "questionnaire", "add", a.questionnaire, "--vault", vault],
                       check=True, stdout=subprocess.DEVNULL)
        keyed = ["--vault", vault, "--key", key, "--passphrase-file", passfile]
        t_build = timed([a.review, "list"] + keyed)
        t_list = [timed([a.review, "list"] + keyed) for _ in range(a.reps)]
        t_stats = [timed([a.review, "stats"] + keyed) for _ in range(a.reps)]
        one = json.loads(subprocess.run([a.review, "list", "--vault", vault, "--json",
                                         "--limit", "1"], check=True, capture_output=True,
                                        text=True).stdout)[0]["id"]
        t_unlock = [timed([a.review, "show", one] + keyed) for _ in range(a.reps)]
        print(json.dumps({"n": a.n, "fill_vault": round(t_fill, 3),
                          "list_key_first": round(t_build, 3),
                          "list_key": round(statistics.median(t_list), 3),
                          "unlock_show_one": round(statistics.median(t_unlock), 3),
                          "list_key_after_unlock": round(statistics.median(t_list) -
                                                         statistics.median(t_unlock), 3),
                          "stats": round(statistics.median(t_stats), 3),
                          "stats_after_unlock": round(statistics.median(t_stats) -
                                                      statistics.median(t_unlock), 3)}))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
