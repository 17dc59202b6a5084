"""Every rate of messiness the generator applies, in one place (docs/generator.md lists them).

File-level rates are per delivery (all its parts share the layout); value-level rates are per row
where the column exists (and the condition in the comment holds); row-level defect rates are per
row of an ordinary delivery. Delivery-level breakages are counts per run: ``rate`` x the number of
deliveries, at least ``minimum``. Every kind is guaranteed at least once per run whatever the size.
"""

from __future__ import annotations

from collections.abc import Mapping

FILE_RATES: Mapping[str, float] = {
    "cp1252": 0.05,  # Windows-1252 bytes (only chosen for deliveries holding non-ASCII text)
    "bom": 0.05,  # UTF-8 with a byte-order mark
    "crlf": 0.20,  # CRLF line endings
    "trailing_blank_line": 0.10,  # an empty line after the last record
    "dmy_dates": 0.05,  # every date in the file as DD/MM/YYYY
    "timestamp_dates": 0.03,  # every date in the file as YYYY-MM-DDT00:00:00
    "missing_optional_column": 0.02,  # an optional column left out (never one a headline or address needs)
    "extra_column": 0.03,  # a column not in the specification
    "reordered_columns": 0.05,  # the columns in another order
    "renamed_optional_column": 0.01,  # an optional column under another name
    "split_parts": 0.05,  # the delivery in two files, each with its header
}

DELIVERY_BREAKAGES: Mapping[str, tuple[float, int]] = {
    # kind: (rate per delivery, minimum per run)
    "no_manifest": (0.0015, 1),
    "sent_twice": (0.003, 1),
    "rows_mismatch": (0.0015, 1),
    "sha256_mismatch": (0.0015, 1),
    "missing_file": (0.001, 1),
    "zero_byte_file": (0.001, 1),
    "required_column_missing": (0.001, 1),
    "required_column_renamed": (0.001, 1),
    "extra_file": (0.003, 1),
    "rectification": (0.002, 2),
    "header_only": (0.002, 1),
    "truncated": (0.002, 1),
    "unknown_authority": (0.0, 1),
    "unknown_feed": (0.0, 1),
}

ROW_DEFECT_RATES: Mapping[str, float] = {
    # quarantined rows, per row of an ordinary delivery (never a person's latest record)
    "too_many_fields": 1 / 60000,
    "too_few_fields": 1 / 60000,
    "blank_key": 1 / 80000,
    "blank_required": 1 / 80000,
    "impossible_date": 1 / 80000,
}

VALUE_RATES: Mapping[str, float] = {
    "name_upper": 0.08,
    "name_lower": 0.02,
    "name_spaces": 0.02,
    "name_typo": 0.012,
    "nickname": 0.04,  # of rows whose forename has a nickname
    "names_swapped": 0.005,
    "married_name_stale": 0.25,  # of rows after a marriage: the old surname still used
    "married_name_early": 0.05,  # of rows before a marriage: the new surname already used
    "accent_stripped": 0.30,  # of rows whose names carry accents
    "dob_missing": 0.02,  # people with three or more records
    "dob_day_month_swap": 0.003,
    "dob_off_by_one": 0.003,
    "dob_future": 0.001,  # after the extract date; people with three or more records
    "sex_unknown": 0.01,
    "nhs_missing_health": 0.05,
    "nhs_missing_csc": 0.20,
    "nhs_spaced_health": 0.25,
    "nhs_spaced_csc": 0.10,
    "nhs_hyphenated": 0.03,
    "nhs_bad_check": 0.005,
    "nhs_zeros": 0.003,
    "upn_lower": 0.03,
    "upn_present_csc": 0.40,
    "nino_missing": 0.04,
    "nino_spaced": 0.12,
    "nino_no_suffix": 0.05,
    "nino_temporary": 0.01,
    "postcode_lower": 0.05,
    "postcode_no_space": 0.08,
    "postcode_letter_o": 0.01,
    "address_upper": 0.10,
    "address_lower": 0.03,
    "address_abbreviated": 0.15,
    "address_no_comma": 0.20,  # of flats: "Flat 2 10 Acacia Avenue"
    "address_comma": 0.03,  # of houses: "10, Acacia Avenue"
    "address_spaces": 0.01,
    "uprn_present_housing": 0.95,
    "uprn_present_childrens_social_care": 0.85,
    "uprn_present_early_help": 0.80,
    "uprn_present_fire_rescue": 0.90,
    "uprn_zero_padded": 0.03,
    "key_spaces": 0.003,
    "optional_date_invalid": 0.002,  # only where the true value is null
    "end_before_start": 0.002,  # only where the true end date is null
    "resent_unchanged": 0.015,  # a record sent again, unchanged, in the next delivery
}
