#!/usr/bin/env bash
# Every benchmark of issue 7 in one run, one after another, for figures from one machine state (DESIGN.md §6).
# Run on an otherwise idle machine; logs go to bench/out/<time>/. Needs the PostgreSQL of DATABASE_URL
# (default: the machine's, trust auth); the scale databases are built on first use (100,000 patients: ~8 min).
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/registry_scale}"
out="bench/out/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
py=.venv/bin/python
echo "commit $(git rev-parse --short HEAD), load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs" | tee "$out/meta.txt"
for n in 639 10000 100000; do
  $py -c "import sys; sys.path.insert(0, '.'); import bench.scale_data as s; s.ensure_scale_database($n)" \
    >> "$out/generator.txt"
done
run() { local name=$1; shift; echo "== $name ($(date -u +%T))" | tee -a "$out/meta.txt"; "$@" > "$out/$name.txt" 2>&1; }
run analysis $py bench/analysis_bench.py
run export $py bench/export_bench.py --patients 100000 --formats csv,parquet,sav,dta
run plans $py bench/plans.py --patients 100000
run load $py bench/load/run_load.py --patients 10000 --users 50 --spawn-rate 10 --duration 60s
run analysis_celery $py bench/analysis_bench.py --n 639 --celery
echo "done $(date -u +%T); figures in $out" | tee -a "$out/meta.txt"
