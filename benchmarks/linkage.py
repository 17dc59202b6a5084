"""Linkage quality and cost against the generator's truth, beside Splink with its default settings.

    .venv/bin/python benchmarks/linkage.py [--families 300 3000] [--seed 11] [--json out.json]
    .venv/bin/python benchmarks/linkage.py --dir demo      # reuse a lake built by `accelerator demo`

For each size: generate deliveries (all ten authorities), build bronze and silver, then time
people and families linkage from scratch (wall time, driver peak RSS: the DuckDB backend runs in
the driver) and score person and family pairs against truth; then people again from scratch on
the Spark backend, timed and scored the same way. On the same person_record rows,
Splink with its library's default comparisons, EM training and the usual 0.95 clustering
threshold is scored too, so the gain of this model (identifier-labelled m, fixed identifier and
reference evidence, constraint-respecting clustering) is visible.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from deltalake import DeltaTable

from accelerator.bronze.land import run_bronze
from accelerator.config import RunContext, Settings
from accelerator.evaluation import PairScore, score_families, score_people
from accelerator.io.storage import LocalStorage
from accelerator.linkage.families import run_families
from accelerator.linkage.people import run_people
from accelerator.silver.build import run_silver
from accelerator.spark import get_spark
from accelerator.synth import generate

ROOT = Path(__file__).resolve().parents[1]
LINKAGE_TABLES = (
    "person_xref",
    "person_links",
    "person_id_changes",
    "person_id_redirects",
    "linkage_models",
    "family_member",
)


def peak_rss_mib() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def splink_defaults(records: pd.DataFrame) -> pd.DataFrame:
    """Splink out of the box on the same rows: library comparisons, EM, cluster at 0.95."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    df = pd.DataFrame(
        {
            "unique_id": records["authority"] + "|" + records["feed"] + "|" + records["record_key"],
            "first_name": records["person_forename_match"],
            "surname": records["person_surname_match"],
            "dob": records["person_dob"].astype("string"),
            "sex": records["person_sex"],
            "postcode": records["postcode_norm"],
            "nhs": records["nhs_number_valid"],
        }
    )
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("nhs"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("dob"),
            block_on("surname", "first_name"),
            block_on("postcode", "first_name"),
            block_on("nhs"),
        ],
    )
    linker = Linker(DuckDBAPI().register(df), settings)
    linker.training.estimate_u_using_random_sampling(max_pairs=2_000_000)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("surname"))
    pred = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.95).as_pandas_dataframe()
    out = clusters[["unique_id", "cluster_id"]].rename(columns={"cluster_id": "person_id"})
    parts = out["unique_id"].str.split("|", n=2, expand=True)
    return out.assign(authority=parts[0], feed=parts[1], record_key=parts[2])


def _read(path: Path) -> pd.DataFrame:
    return DeltaTable(str(path)).to_pandas()


def measure(
    work: Path, *, as_of: date, build: bool, spark_backend: bool = True, defaults: bool = True
) -> dict[str, Any]:
    spark = get_spark(jars_dir=ROOT / ".jars")
    spark.sparkContext.setLogLevel("ERROR")
    settings = Settings(lake_root=str(work / "lake"), landing_root=str(work / "landing"))
    ctx = RunContext.create(as_of=as_of, started_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0))
    platform = work / "lake" / "silver" / "_platform"
    if build:
        run_bronze(spark, settings, ctx, LocalStorage())
        run_silver(spark, settings, ctx)
    for t in LINKAGE_TABLES:  # linkage from scratch on the built silver
        shutil.rmtree(platform / t, ignore_errors=True)
    t0 = time.perf_counter()
    people = run_people(spark, settings, ctx)
    t_people = time.perf_counter() - t0
    t1 = time.perf_counter()
    families = run_families(spark, settings, ctx)
    t_families = time.perf_counter() - t1
    rss = peak_rss_mib()

    truth_records = pd.read_csv(work / "truth" / "records.csv", dtype=str, keep_default_na=False)
    truth_families = pd.read_csv(work / "truth" / "families.csv", dtype=str, keep_default_na=False)
    xref = _read(platform / "person_xref")
    members = _read(platform / "family_member")
    members = members[members["as_of"] == as_of]
    person, missing = score_people(xref, truth_records)
    family = score_families(members, xref, truth_records, truth_families)

    spark_figures: dict[str, Any] = {}
    if spark_backend:
        # The same linkage on the Spark backend (the scale-out path on Synapse), same records, same truth.
        for t in LINKAGE_TABLES:
            shutil.rmtree(platform / t, ignore_errors=True)
        spark_settings = Settings(
            lake_root=settings.lake_root, landing_root=settings.landing_root, linkage_backend="spark"
        )
        t3 = time.perf_counter()
        spark_people = run_people(spark, spark_settings, ctx)
        t_spark = time.perf_counter() - t3
        spark_person, spark_missing = score_people(_read(platform / "person_xref"), truth_records)
        spark_figures = {
            "spark_backend_people_seconds": round(t_spark, 1),
            "spark_backend_people": spark_people.people,
            "spark_backend_person": spark_person.as_dict(),
            "spark_backend_missing_from_xref": spark_missing,
        }

    default_figures: dict[str, Any] = {}
    if defaults:
        records = _read(platform / "person_record")
        t2 = time.perf_counter()
        default_xref = splink_defaults(records)
        t_default = time.perf_counter() - t2
        default_person, _ = score_people(default_xref, truth_records)
        default_figures = {
            "splink_defaults_seconds": round(t_default, 1),
            "splink_defaults_person": default_person.as_dict(),
        }
    return {
        "records": people.records,
        "people": people.people,
        "families": families.families,
        "people_seconds": round(t_people, 1),
        "families_seconds": round(t_families, 1),
        "driver_peak_rss_mib": rss,
        "person": person.as_dict(),
        "person_records_missing_from_xref": missing,
        "family": family.as_dict(),
        **spark_figures,
        **default_figures,
    }


def _line(name: str, s: PairScore | dict[str, Any]) -> str:
    d = s if isinstance(s, dict) else s.as_dict()
    return f"  {name:<28} precision {d['precision']:.4f}  recall {d['recall']:.4f}  f1 {d['f1']:.4f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", type=int, nargs="+", default=[300, 3000])
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--as-of", default="2026-11-30")
    ap.add_argument("--dir", type=Path, help="an existing demo folder (lake/, truth/): linkage only")
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--no-spark-backend",
        action="store_true",
        help="skip the Spark backend run (on 2 local cores it trains for many minutes at 3000)",
    )
    ap.add_argument(
        "--no-defaults",
        action="store_true",
        help="skip Splink with its default settings (about 7 minutes at 3000 on 2 cores)",
    )
    args = ap.parse_args()
    as_of = date.fromisoformat(args.as_of)
    with_spark = not args.no_spark_backend
    results: dict[str, Any] = {}
    if args.dir:
        meta = json.loads((args.dir / "truth" / "meta.json").read_text())
        as_of = date.fromisoformat(str(meta.get("as_of", args.as_of)))
        results[str(args.dir)] = measure(
            args.dir, as_of=as_of, build=False, spark_backend=with_spark, defaults=not args.no_defaults
        )
    else:
        for n in args.families:
            work = Path(tempfile.mkdtemp(prefix=f"bench-linkage-{n}-"))
            try:
                generate(work, families_per_authority=n, seed=args.seed, as_of=as_of)
                results[f"{n} families per authority"] = measure(
                    work, as_of=as_of, build=True, spark_backend=with_spark, defaults=not args.no_defaults
                )
            finally:
                shutil.rmtree(work, ignore_errors=True)
    for name, r in results.items():
        print(f"{name}: {r['records']} records → {r['people']} people, {r['families']} families")
        print(
            f"  people {r['people_seconds']}s, families {r['families_seconds']}s, "
            f"driver peak RSS {r['driver_peak_rss_mib']} MiB; missing from xref: "
            f"{r['person_records_missing_from_xref']}"
        )
        print(_line("people (this model)", r["person"]))
        print(_line("families (this model)", r["family"]))
        if "spark_backend_person" in r:
            print(
                _line("people (Spark backend)", r["spark_backend_person"])
                + f"  {r['spark_backend_people_seconds']}s, missing {r['spark_backend_missing_from_xref']}"
            )
        if "splink_defaults_person" in r:
            print(
                _line("people (Splink defaults)", r["splink_defaults_person"])
                + f"  {r['splink_defaults_seconds']}s"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
