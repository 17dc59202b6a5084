"""Score a built lake against the generator's truth, reading every table without Spark (delta-rs).

    python benchmarks/score.py --dir demo            # DIR/lake and DIR/truth, as `accelerator demo` makes
    python benchmarks/score.py --lake L --truth T --json out.json

Prints person and family pairwise scores (outcomes.md "People", "Families"), per-headline
accuracy / precision / recall / F1 and eligibility against truth/headlines.csv, and the leak
check: rows in an authority's gold that belong to another authority's families.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from deltalake import DeltaTable

from accelerator.evaluation import score_families, score_gold, score_people
from accelerator.feeds import AUTHORITIES


def read(path: Path) -> pd.DataFrame:
    return DeltaTable(str(path)).to_pandas()


def gold(lake: Path, table: str) -> pd.DataFrame:
    frames = []
    for a in sorted(AUTHORITIES):
        p = lake / "gold" / a / table
        if (p / "_delta_log").is_dir():
            frames.append(read(p).assign(_gold_authority=a))
    return pd.concat(frames, ignore_index=True)


def score(lake: Path, truth: Path) -> dict[str, object]:
    xref = read(lake / "silver" / "_platform" / "person_xref")
    members = read(lake / "silver" / "_platform" / "family_member")
    as_of = members["as_of"].max()
    members = members[members["as_of"] == as_of]
    records = pd.read_csv(truth / "records.csv", dtype=str, keep_default_na=False)
    fams = pd.read_csv(truth / "families.csv", dtype=str, keep_default_na=False)
    heads = pd.read_csv(truth / "headlines.csv", dtype=str, keep_default_na=False)
    people, missing = score_people(xref, records)
    families = score_families(members, xref, records, fams)
    g_family = gold(lake, "family")
    g_members = gold(lake, "family_member")
    flags = score_gold(g_family, g_members, xref, records, fams, heads)
    fam_auth = g_family.set_index("family_id")["authority"]
    leaks = int((g_family["authority"] != g_family["_gold_authority"]).sum())
    for table in ("family_member", "headline_evidence"):
        t = gold(lake, table)
        leaks += int((t["family_id"].map(fam_auth) != t["_gold_authority"]).sum())
    return {
        "as_of": str(as_of),
        "person": people.as_dict(),
        "person_records_missing_from_xref": missing,
        "family": families.as_dict(),
        "headlines": {k: v.__dict__ for k, v in flags.items()},
        "rows_of_another_authority_in_gold": leaks,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", type=Path, help="folder with lake/ and truth/")
    ap.add_argument("--lake", type=Path)
    ap.add_argument("--truth", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    lake = args.lake or args.dir / "lake"
    truth = args.truth or args.dir / "truth"
    result = score(lake, truth)
    p, f = result["person"], result["family"]
    assert isinstance(p, dict) and isinstance(f, dict)
    print(f"people   precision {p['precision']:.4f} recall {p['recall']:.4f} f1 {p['f1']:.4f}")
    print(f"families precision {f['precision']:.4f} recall {f['recall']:.4f} f1 {f['f1']:.4f}")
    print(f"records missing from person_xref: {result['person_records_missing_from_xref']}")
    print(f"{'flag':<20}{'accuracy':>9}{'precision':>10}{'recall':>8}{'f1':>8}{'true':>6}")
    heads = result["headlines"]
    assert isinstance(heads, dict)
    for name, s in heads.items():
        print(
            f"{name:<20}{s['accuracy']:>9.4f}{s['precision']:>10.4f}{s['recall']:>8.4f}"
            f"{s['f1']:>8.4f}{s['positives']:>6}"
        )
    print(f"rows of another authority in gold: {result['rows_of_another_authority_in_gold']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
