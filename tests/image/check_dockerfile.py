#!/usr/bin/env python3
"""The repository's Dockerfile: every base image pinned (a tag and a digest,
never latest), a build stage apart from the runtime stage, the runtime stage
running as a non-root user, and the tag it documents being the image
`carve render k8s` names by default. Runs hadolint when it is installed
(Debian 12 does not package it) and `docker build` when a Docker engine
answers. Usage: check_dockerfile.py PATH/TO/carve
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DIGEST = re.compile(r"^[^\s:@]+:[^\s:@]+@sha256:[0-9a-f]{64}$")


def instructions(text):
    """(instruction, argument) pairs, continuation lines joined, comments dropped."""
    out, pending = [], ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            word, _, arg = pending.strip().partition(" ")
            out.append((word.upper(), arg.strip()))
            pending = ""
    return out


def problems(text):
    """Why this Dockerfile breaks the rules above; empty when it keeps them."""
    steps = instructions(text)
    args = dict(a.split("=", 1) for w, a in steps if w == "ARG" and "=" in a)
    bases = [a.split()[0] for w, a in steps if w == "FROM"]
    stages = [a.split()[-1] for w, a in steps if w == "FROM" and " AS " in a.upper()]
    found = []
    if len(bases) < 2:
        found.append("one stage: build and runtime should be separate stages")
    for base in bases:
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), base)
        if image in stages:
            continue
        if not DIGEST.match(image) or ":latest@" in image:
            found.append(f"base image '{image}' is not pinned as NAME:TAG@sha256:DIGEST")
    last = max(i for i, (w, _) in enumerate(steps) if w == "FROM") if bases else 0
    users = [a for w, a in steps[last:] if w == "USER"]
    if not users:
        found.append("the runtime stage runs as root (no USER)")
    elif users[-1].split(":")[0] in ("root", "0"):
        found.append(f"the runtime stage runs as root (USER {users[-1]})")
    elif not users[-1].split(":")[0].isdigit():
        found.append(f"USER {users[-1]}: name the user by number so runAsNonRoot can check it")
    return found


def self_test(good):
    """The checker itself refuses what it should."""
    bad = {
        "unpinned": good.replace("@sha256:", "@nodigest:"),
        "root": re.sub(r"^USER .*$", "USER root", good, flags=re.M),
        "no user": re.sub(r"^USER .*$", "", good, flags=re.M),
        "one stage": re.sub(r"^FROM \S+ AS build$", "", good, flags=re.M),
    }
    for name, text in bad.items():
        if text == good or not problems(text):
            sys.exit(f"check_dockerfile: the checker accepted a Dockerfile with '{name}'")


def default_image(carve):
    """The gateway image of a render without --carve-image."""
    out = subprocess.run([carve, "render", "k8s", os.path.join(ROOT, "examples/k8s/carve.yaml"),
                          "--nodes", os.path.join(ROOT, "examples/k8s/nodes.json")],
                         capture_output=True, text=True, check=True).stdout
    images = re.findall(r"^\s+image: (\S*carve\S*)$", out, flags=re.M)
    return images[0] if images else ""


def main():
    text = open(os.path.join(ROOT, "Dockerfile")).read()
    self_test(text)
    found = problems(text)
    version = re.search(r"project\(carve VERSION (\S+)", open(os.path.join(ROOT, "CMakeLists.txt")).read()).group(1)
    documented = re.search(r"docker build -t (\S+) \.", text)
    tag = documented.group(1) if documented else ""
    if not tag.endswith(":" + version):
        found.append(f"the Dockerfile documents '{tag}', not carve {version}")
    if len(sys.argv) > 1 and default_image(sys.argv[1]) != tag:
        found.append(f"carve render k8s runs '{default_image(sys.argv[1])}' by default, the Dockerfile builds '{tag}'")
    if shutil.which("hadolint"):
        lint = subprocess.run(["hadolint", os.path.join(ROOT, "Dockerfile")], capture_output=True, text=True)
        if lint.returncode:
            found.append("hadolint: " + lint.stdout.strip())
    for p in found:
        print(f"Dockerfile: {p}")
    if found:
        sys.exit(1)
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        with tempfile.TemporaryDirectory() as tmp:
            iid = os.path.join(tmp, "iid")
            subprocess.run(["docker", "build", "--iidfile", iid, ROOT], check=True)
            image = open(iid).read().strip()
            user = subprocess.run(["docker", "run", "--rm", "--entrypoint", "id", image, "-u"],
                                  capture_output=True, text=True, check=True).stdout.strip()
            if user == "0":
                sys.exit("Dockerfile: the built image runs as root")
            subprocess.run(["docker", "run", "--rm", image, "--version"], check=True)  # its libraries are there
        print("check_dockerfile: built with docker")
    print("check_dockerfile: ok")


if __name__ == "__main__":
    main()
