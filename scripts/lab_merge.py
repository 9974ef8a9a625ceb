"""Gathers the finished configurations of one or more lab directories into a lab directory that `difr lab` can
analyse without running anything (scripts/lab-partial.sh, scripts/lab-parallel.sh); or, with --split, cuts a
lab file into one lab file per configuration (scripts/lab-parallel.sh).

    python3 scripts/lab_merge.py LAB.toml OUT SRC...
    python3 scripts/lab_merge.py --split LAB.toml DIR

OUT gets lab.toml (LAB.toml holding only the configurations whose every pass has finished in one of the SRC
lab directories, prompts as an absolute path), runs/<config>-<pass> as symlinks to those runs, and lab.json
with each configuration's wall time taken from the source that ran it. The SRCs are only read; they must all
hold the same lab (the same lab.json identity). Prints the finished and the missing configurations.

--split writes DIR/<config>.toml (LAB.toml's settings with that one configuration, prompts as an absolute
path) and DIR/queue (the configuration names, in the lab file's order).
"""

import json
import os
import re
import sys
import tomllib

# The fields of lab.json that `difr lab` compares before it resumes a directory (lab_identity in
# src/lab/lab_runner.cpp).
IDENTITY = ("lab", "reference", "claimed", "n_prompts", "max_tokens")
# Configurations that have no greedy pass (docs/lab.md "Sampling-only deviations").
T1_ONLY_KINDS = ("temperature", "top_p", "seed")


def lab_head_and_blocks(toml_path):
    """The lab file's settings (prompts made absolute) and the text of each [[configs]] table."""
    text = open(toml_path).read()
    spec = tomllib.loads(text)
    prompts = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(toml_path)), spec["prompts"]))
    head, *blocks = re.split(r"(?m)^\[\[configs\]\]\n", text)
    return re.sub(r"(?m)^prompts = .*$", f'prompts = "{prompts}"', head), blocks


def split(toml_path, out):
    head, blocks = lab_head_and_blocks(toml_path)
    with open(os.path.join(out, "queue"), "w") as queue:
        for block in blocks:
            name = tomllib.loads(block)["name"]
            open(os.path.join(out, f"{name}.toml"), "w").write(head + "[[configs]]\n" + block)
            queue.write(name + "\n")


def main(toml_path, out, sources):
    head, blocks = lab_head_and_blocks(toml_path)

    labs = {}
    for src in sources:
        path = os.path.join(src, "lab.json")
        if os.path.exists(path):
            labs[src] = json.load(open(path))
    if not labs:
        sys.exit(f"{', '.join(sources)}: no lab directory (no lab.json) among them")
    first_src, first = next(iter(labs.items()))
    for src, lab in labs.items():
        for key in IDENTITY:
            if lab.get(key) != first.get(key):
                sys.exit(f"{src}/lab.json differs from {first_src}/lab.json in '{key}': not the same lab")

    keep, missing, seconds, entries = [], [], {}, []
    for block in blocks:
        config = tomllib.loads(block)
        name = config["name"]
        passes = ["t1"] if config["kind"] in T1_ONLY_KINDS else ["t1", "t0"]
        found = {}
        for src in labs:
            for p in passes:
                run = os.path.join(src, "runs", f"{name}-{p}")
                if p not in found and os.path.exists(os.path.join(run, "summary.json")):
                    found[p] = (src, run)
        if len(found) < len(passes):
            missing.append(name)
            continue
        keep.append(block)
        for p, (src, run) in found.items():
            os.symlink(os.path.abspath(run), os.path.join(out, "runs", f"{name}-{p}"))
        # The wall time of the configuration in the source that ran its first pass.
        seconds[name] = labs[found[passes[0]][0]].get("seconds", {}).get(name)
    if not keep:
        sys.exit(f"{', '.join(sources)}: no configuration has finished yet")

    open(os.path.join(out, "lab.toml"), "w").write(head + "".join("[[configs]]\n" + b for b in keep))
    merged = {key: first[key] for key in IDENTITY}
    merged["seconds"] = seconds
    open(os.path.join(out, "lab.json"), "w").write(json.dumps(merged, indent=2) + "\n")
    print("finished:", ", ".join(tomllib.loads(b)["name"] for b in keep))
    if missing:
        print("not finished:", ", ".join(missing))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--split":
        split(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 4 and not sys.argv[1].startswith("--"):
        main(sys.argv[1], sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)
