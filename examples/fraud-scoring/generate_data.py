"""Generate synthetic card transactions for the airel fraud-scoring demo.

The data imitates what a European card issuer sees: about 20,000 customers who
mostly pay at home in the Netherlands, with realistic amounts per merchant
category, payment channels, time-of-day patterns and velocity features (how
many payments a card made in the last hour and day).

Whether a transaction is fraud is drawn from a documented risk model (see
``fraud_logit``). Some of the risk only shows up when features are combined,
for example a burst of online payments at night on a new card. A linear model
on a few columns can only partly learn this; a gradient-boosted model on all
the features can learn more of it. That is the reason the candidate model in
``train.py`` beats the baseline.

One column leaks on purpose: ``chargeback_date`` is only known weeks *after*
the outcome. Any model trained on it would look excellent offline and then fail
in production. A later step of the demo is meant to catch it.

The output is deterministic for a given ``--seed`` and ``--rows``: the Parquet
files, and therefore their sha256 in ``data_manifest.json``, are byte-identical
across runs.

Usage::

    python generate_data.py --out data/ [--seed 7] [--rows 200000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

GENERATOR_VERSION = "synthetic generator v1"

# --- Time window ------------------------------------------------------------------------------
# Six months of transactions, split by time (never at random) so that validation and serving
# data always lie *after* the training data, just as they would in production.
WINDOW_START = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW_END = datetime(2026, 7, 1, tzinfo=UTC)
TRAIN_END = datetime(2026, 4, 19, tzinfo=UTC)  # first 108 of 181 days, about 60%
VALIDATION_END = datetime(2026, 5, 25, tzinfo=UTC)  # next 36 days, about 20%

# Customers live in the Netherlands; hour_of_day is their local (Europe/Amsterdam) hour.
# Summer time starts on 2026-03-29 at 01:00 UTC and lasts past the end of the window.
SUMMER_TIME_START = datetime(2026, 3, 29, 1, tzinfo=UTC)
HOME_COUNTRY = "NL"

N_CUSTOMERS = 20_000
SECONDS_PER_HOUR = 3_600
SECONDS_PER_DAY = 86_400

# --- Merchant categories ----------------------------------------------------------------------
# share: share of everyday transactions; median_eur and sigma: the log-normal amount in EUR;
# channel_mix: probability of card_present, ecommerce, contactless and atm (in CHANNELS order).
CHANNELS = ("card_present", "ecommerce", "contactless", "atm")


@dataclass(frozen=True)
class Category:
    name: str
    share: float
    median_eur: float
    sigma: float
    channel_mix: tuple[float, float, float, float]
    risk: float  # log-odds added to the fraud risk


CATEGORIES = (
    Category("grocery", 0.26, 32.0, 0.75, (0.35, 0.05, 0.60, 0.0), -0.9),
    Category("restaurants", 0.15, 27.0, 0.65, (0.30, 0.15, 0.55, 0.0), -0.6),
    Category("transport", 0.10, 9.0, 0.70, (0.10, 0.30, 0.60, 0.0), -0.5),
    Category("fuel", 0.08, 62.0, 0.40, (0.55, 0.0, 0.45, 0.0), -0.3),
    Category("clothing", 0.08, 55.0, 0.75, (0.35, 0.40, 0.25, 0.0), 0.0),
    Category("pharmacy", 0.05, 18.0, 0.60, (0.40, 0.10, 0.50, 0.0), -0.6),
    Category("home_improvement", 0.04, 48.0, 0.90, (0.55, 0.25, 0.20, 0.0), -0.2),
    Category("cash_withdrawal", 0.06, 80.0, 0.60, (0.0, 0.0, 0.0, 1.0), 0.3),
    Category("digital_goods", 0.07, 12.0, 0.90, (0.0, 1.0, 0.0, 0.0), 1.1),
    Category("electronics", 0.04, 170.0, 0.95, (0.35, 0.60, 0.05, 0.0), 0.8),
    Category("travel", 0.045, 310.0, 0.90, (0.15, 0.80, 0.05, 0.0), 0.4),
    Category("gambling", 0.025, 40.0, 1.00, (0.05, 0.95, 0.0, 0.0), 1.0),
)
CATEGORY_NAMES = tuple(c.name for c in CATEGORIES)
# Category mix within bursts of several payments (see ``generate_sessions``).
ERRAND_CATEGORIES = {
    "grocery": 0.30,
    "restaurants": 0.25,
    "clothing": 0.12,
    "pharmacy": 0.08,
    "fuel": 0.07,
    "home_improvement": 0.08,
    "cash_withdrawal": 0.10,
}
ONLINE_CATEGORIES = {
    "digital_goods": 0.35,
    "gambling": 0.15,
    "electronics": 0.20,
    "travel": 0.10,
    "clothing": 0.20,
}

# Foreign countries (ISO 3166-1 alpha-2) and their share of cross-border payments. "NO" is
# Norway, a value that YAML 1.1 parsers famously read as the boolean false.
# fmt: off
FOREIGN_COUNTRIES = {"DE": 0.22, "BE": 0.20, "FR": 0.12, "ES": 0.10, "GB": 0.08, "IT": 0.07,
                     "US": 0.07, "NO": 0.05, "IE": 0.04, "PL": 0.03, "CN": 0.02}
# fmt: on

# Relative activity per local hour 0..23 for everyday spending and for online shopping.
# fmt: off
EVERYDAY_HOURS = np.array([0.6, 0.3, 0.2, 0.15, 0.15, 0.3, 0.9, 2.2, 3.6, 4.2, 4.8, 5.6,
                           6.4, 5.8, 5.2, 5.2, 5.8, 6.6, 6.4, 5.0, 3.8, 2.8, 1.8, 1.1])
ONLINE_HOURS = np.array([2.4, 1.9, 1.5, 1.2, 0.9, 0.8, 1.0, 1.4, 1.8, 2.2, 2.5, 2.8,
                         3.0, 3.0, 3.0, 3.0, 3.0, 3.2, 3.4, 3.8, 4.2, 4.2, 3.8, 3.2])
# Relative activity per weekday, Monday first (2026-01-01 is a Thursday).
WEEKDAYS = np.array([0.90, 0.92, 0.95, 1.00, 1.18, 1.20, 0.85])
# fmt: on

SESSION_SHARE = 0.25  # share of rows that belong to bursts of several payments
TARGET_FRAUD_RATE = 0.011  # base rate the fraud risk model is calibrated to


def probabilities(weights: Any) -> np.ndarray:
    """Normalise weights so that they sum to one."""
    array = np.asarray(weights, dtype=float)
    return np.asarray(array / array.sum())


# --- Customers --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Customers:
    activity: np.ndarray  # relative number of everyday payments
    vulnerable: np.ndarray  # flagged as a vulnerable customer (about 4%)
    card_issued_s: np.ndarray  # card issue time before the window (seconds from WINDOW_START)
    card_reissued_s: np.ndarray  # card replaced during the window, or +inf if it was not


def generate_customers(rng: np.random.Generator) -> Customers:
    window_s = (WINDOW_END - WINDOW_START).total_seconds()
    card_age_at_start = rng.gamma(shape=1.6, scale=420.0, size=N_CUSTOMERS) + 1.0
    reissued = rng.random(N_CUSTOMERS) < 0.15  # lost, stolen or expired cards get replaced
    reissue_s = np.where(reissued, rng.uniform(0.0, window_s, N_CUSTOMERS), np.inf)
    return Customers(
        activity=rng.gamma(shape=1.3, scale=1.0, size=N_CUSTOMERS),
        vulnerable=rng.random(N_CUSTOMERS) < 0.04,
        card_issued_s=-card_age_at_start * SECONDS_PER_DAY,
        card_reissued_s=reissue_s,
    )


# --- Transactions -----------------------------------------------------------------------------
def local_to_utc_seconds(
    day: np.ndarray, local_hour: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Seconds since WINDOW_START (UTC) of a random moment in the given local day and hour."""
    local_s = day * SECONDS_PER_DAY + local_hour * SECONDS_PER_HOUR
    local_s = local_s + rng.integers(0, SECONDS_PER_HOUR, size=day.shape)
    summer_start_s = (SUMMER_TIME_START - WINDOW_START).total_seconds()
    offset_s = np.where(local_s - 2 * SECONDS_PER_HOUR >= summer_start_s, 7_200, 3_600)
    window_s = int((WINDOW_END - WINDOW_START).total_seconds())
    # The first local hour of 1 January falls in the old year in UTC; wrap it into the window.
    return np.asarray(np.mod(local_s - offset_s, window_s))


def local_hour_of(utc_s: np.ndarray) -> np.ndarray:
    summer_start_s = (SUMMER_TIME_START - WINDOW_START).total_seconds()
    offset_s = np.where(utc_s >= summer_start_s, 7_200, 3_600)
    return ((utc_s + offset_s) // SECONDS_PER_HOUR) % 24


def random_days(n: int, rng: np.random.Generator) -> np.ndarray:
    n_days = (WINDOW_END - WINDOW_START).days
    first_weekday = WINDOW_START.weekday()
    weights = WEEKDAYS[(np.arange(n_days) + first_weekday) % 7]
    return rng.choice(n_days, size=n, p=probabilities(weights))


def choose_channel(category: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pick a payment channel for each row from its category's channel mix."""
    mix = np.cumsum(np.array([c.channel_mix for c in CATEGORIES]), axis=1)[category]
    channel = (rng.random(len(category))[:, None] > mix).sum(axis=1)
    return np.asarray(channel.clip(max=len(CHANNELS) - 1))


def generate_everyday(
    n: int, customers: Customers, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Single payments spread over the window: groceries, fuel, a train ticket, ..."""
    category = rng.choice(len(CATEGORIES), size=n, p=probabilities([c.share for c in CATEGORIES]))
    channel = choose_channel(category, rng)
    online = channel == CHANNELS.index("ecommerce")
    local_hour = np.where(
        online,
        rng.choice(24, size=n, p=probabilities(ONLINE_HOURS)),
        rng.choice(24, size=n, p=probabilities(EVERYDAY_HOURS)),
    )
    return {
        "customer": rng.choice(N_CUSTOMERS, size=n, p=probabilities(customers.activity)),
        "utc_s": local_to_utc_seconds(random_days(n, rng), local_hour, rng),
        "category": category,
        "channel": channel,
        "session_abroad": np.zeros(n, dtype=bool),
    }


def generate_sessions(n_rows: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Bursts of several payments by one card within minutes or hours.

    Most bursts are errands (a few shops on a Saturday afternoon), the rest are online
    shopping sprees, which also happen late at night and abroad. Velocity features are
    computed from these bursts, so they carry signal without being fraud by themselves.
    """
    sizes = 2 + rng.poisson(1.6, size=n_rows)  # more sessions than needed, trimmed below
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n_rows) + 1]
    sizes[-1] -= sizes.sum() - n_rows
    n_sessions = len(sizes)
    online_session = rng.random(n_sessions) < 0.35
    session_hour = np.where(
        online_session,
        rng.choice(24, size=n_sessions, p=probabilities(ONLINE_HOURS)),
        rng.choice(24, size=n_sessions, p=probabilities(EVERYDAY_HOURS)),
    )
    session_start = local_to_utc_seconds(random_days(n_sessions, rng), session_hour, rng)
    abroad = online_session & (rng.random(n_sessions) < 0.25)

    session = np.repeat(np.arange(n_sessions), sizes)
    online = online_session[session]
    # Online sprees are quick (minutes between payments); errands take longer.
    gap_s = rng.exponential(np.where(online, 240.0, 1_500.0)) + 30.0
    first_in_session = np.r_[0, np.cumsum(sizes)[:-1]]
    gap_s[first_in_session] = 0.0
    offset_s = np.cumsum(gap_s) - np.repeat(np.cumsum(gap_s)[first_in_session], sizes)

    errand_shares = probabilities([ERRAND_CATEGORIES.get(c.name, 0.0) for c in CATEGORIES])
    online_shares = probabilities([ONLINE_CATEGORIES.get(c.name, 0.0) for c in CATEGORIES])
    n = len(session)
    category = np.where(
        online,
        rng.choice(len(CATEGORIES), size=n, p=online_shares),
        rng.choice(len(CATEGORIES), size=n, p=errand_shares),
    )
    channel = np.where(online, CHANNELS.index("ecommerce"), choose_channel(category, rng))
    window_s = int((WINDOW_END - WINDOW_START).total_seconds())
    return {
        "customer": np.repeat(rng.integers(0, N_CUSTOMERS, size=n_sessions), sizes),
        "utc_s": np.minimum(session_start[session] + offset_s.astype(np.int64), window_s - 1),
        "category": category,
        "channel": channel,
        "session_abroad": abroad[session],
    }


def draw_amounts(category: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    median = np.array([c.median_eur for c in CATEGORIES])[category]
    sigma = np.array([c.sigma for c in CATEGORIES])[category]
    amount = median * np.exp(sigma * rng.standard_normal(len(category)))
    cash = category == CATEGORY_NAMES.index("cash_withdrawal")
    amount = np.where(cash, np.maximum(10.0, np.round(amount / 10.0) * 10.0), amount)
    return np.asarray(np.round(np.maximum(amount, 0.5), 2))


def draw_countries(
    channel: np.ndarray, category: np.ndarray, session_abroad: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Country of the merchant: mostly home, more often abroad for travel and web shops."""
    p_abroad = np.select(
        [category == CATEGORY_NAMES.index("travel"), channel == CHANNELS.index("ecommerce")],
        [0.40, 0.18],
        default=0.03,
    )
    abroad = session_abroad | (rng.random(len(channel)) < p_abroad)
    foreign = np.array(list(FOREIGN_COUNTRIES))
    foreign_pick = rng.choice(
        foreign, size=len(channel), p=probabilities(list(FOREIGN_COUNTRIES.values()))
    )
    return np.where(abroad, foreign_pick, HOME_COUNTRY)


def draw_merchants(
    customer: np.ndarray, category: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Merchant ids (only used for distinct_merchants_24h): people return to the same shops."""
    pool = 5_000
    favourite = (customer * 7_919 + category * 104_729) % pool
    merchant = np.where(
        rng.random(len(customer)) < 0.5, favourite, rng.integers(0, pool, size=len(customer))
    )
    return category * pool + merchant


# --- Velocity features ------------------------------------------------------------------------
def velocity_features(
    customer: np.ndarray, utc_s: np.ndarray, amount: np.ndarray, merchant: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-card counts over the trailing 1 h and 24 h, including the current payment.

    Expects rows sorted by (customer, utc_s). Each row's window is found with a binary
    search on a combined (customer, time) key, so the whole thing is vectorised.
    """
    n = len(customer)
    index = np.arange(n)
    key = customer.astype(np.int64) * (400 * SECONDS_PER_DAY) + utc_s
    start_1h = np.searchsorted(key, key - SECONDS_PER_HOUR, side="left")
    start_24h = np.searchsorted(key, key - SECONDS_PER_DAY, side="left")
    cumulative_amount = np.r_[0.0, np.cumsum(amount)]

    # A row j in the window of row i is a new merchant if the previous payment by this card at
    # this merchant happened before the window started.
    by_merchant = np.lexsort((index, merchant, customer))
    same_as_previous = np.r_[
        False, (np.diff(customer[by_merchant]) == 0) & (np.diff(merchant[by_merchant]) == 0)
    ]
    previous_visit = np.full(n, -1)
    previous_visit[by_merchant[same_as_previous]] = by_merchant[np.r_[same_as_previous[1:], False]]
    distinct = np.zeros(n, dtype=np.int64)
    for lag in range(int((index - start_24h).max()) + 1):
        j = index - lag
        in_window = j >= start_24h
        distinct += in_window & (previous_visit[np.maximum(j, 0)] < start_24h)

    return {
        "txn_count_1h": index - start_1h + 1,
        "txn_count_24h": index - start_24h + 1,
        "amount_sum_24h": np.round(cumulative_amount[index + 1] - cumulative_amount[start_24h], 2),
        "distinct_merchants_24h": distinct,
    }


# --- Fraud labels -----------------------------------------------------------------------------
def fraud_logit(cols: dict[str, np.ndarray]) -> np.ndarray:
    """Log-odds of fraud, before the intercept that sets the base rate.

    Single-feature effects (category, channel, abroad, night, amount) are what a simple model
    can learn. The interactions at the end are card-testing and account-takeover patterns
    that only show up when several features are combined.
    """
    category = cols["category"]
    ecommerce = cols["channel"] == CHANNELS.index("ecommerce")
    atm = cols["channel"] == CHANNELS.index("atm")
    night = cols["hour_of_day"] < 6
    new_card = cols["card_age_days"] < 21
    median = np.array([c.median_eur for c in CATEGORIES])[category]
    sigma = np.array([c.sigma for c in CATEGORIES])[category]
    unusual_amount = (np.log(cols["amount"]) - np.log(median)) / sigma

    logit = np.array([c.risk for c in CATEGORIES])[category]
    logit = logit + 0.7 * ecommerce + 0.3 * atm
    logit = logit + 0.8 * cols["is_cross_border"]
    logit = logit + 0.4 * night
    logit = logit + 0.5 * np.clip(unusual_amount, 0.0, 3.0)
    logit = logit + 0.4 * cols["vulnerable_customer"]  # targeted by scams more often
    # Card testing: several quick online payments within an hour, often at night.
    testing = ecommerce & (cols["txn_count_1h"] >= 3)
    logit = logit + 1.8 * testing + 1.2 * (testing & night)
    # Account takeover: a fresh card spending fast at many merchants, worse abroad.
    spree = (cols["distinct_merchants_24h"] >= 3) & (cols["amount_sum_24h"] > 600)
    logit = logit + 1.0 * spree + 1.3 * (spree & new_card)
    logit = logit + 0.5 * new_card + 1.1 * (new_card & cols["is_cross_border"])
    # A quiet old card paying in person at home is very rarely fraud.
    quiet = (cols["txn_count_24h"] == 1) & (cols["card_age_days"] > 365) & ~ecommerce
    return np.asarray(logit - 0.8 * quiet)


def calibrated_probability(logit: np.ndarray, target_rate: float) -> np.ndarray:
    """Find the intercept (by bisection) that makes the mean fraud probability hit the target."""
    low, high = -20.0, 5.0
    for _ in range(60):
        intercept = (low + high) / 2
        mean = float(np.mean(1.0 / (1.0 + np.exp(-(logit + intercept)))))
        low, high = (intercept, high) if mean < target_rate else (low, intercept)
    return 1.0 / (1.0 + np.exp(-(logit + (low + high) / 2)))


# --- Assembly ---------------------------------------------------------------------------------
def generate(n_rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    customers = generate_customers(rng)
    n_session_rows = int(n_rows * SESSION_SHARE)
    parts = [
        generate_everyday(n_rows - n_session_rows, customers, rng),
        generate_sessions(n_session_rows, rng),
    ]
    cols = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}

    cols["amount"] = draw_amounts(cols["category"], rng)
    cols["country"] = draw_countries(cols["channel"], cols["category"], cols["session_abroad"], rng)
    cols["merchant"] = draw_merchants(cols["customer"], cols["category"], rng)

    order = np.lexsort((cols["utc_s"], cols["customer"]))
    cols = {name: values[order] for name, values in cols.items()}
    cols.update(
        velocity_features(cols["customer"], cols["utc_s"], cols["amount"], cols["merchant"])
    )

    customer = cols["customer"]
    issued_s = np.where(
        cols["utc_s"] >= customers.card_reissued_s[customer],
        customers.card_reissued_s[customer],
        customers.card_issued_s[customer],
    )
    cols["card_age_days"] = ((cols["utc_s"] - issued_s) // SECONDS_PER_DAY).astype(np.int64)
    cols["hour_of_day"] = local_hour_of(cols["utc_s"])
    cols["is_cross_border"] = cols["country"] != HOME_COUNTRY
    cols["vulnerable_customer"] = customers.vulnerable[customer]

    p_fraud = calibrated_probability(fraud_logit(cols), TARGET_FRAUD_RATE)
    label = (rng.random(len(customer)) < p_fraud).astype(np.int64)
    # Chargebacks arrive 20 to 60 days after the fraud: known only long after the decision.
    chargeback_s = cols["utc_s"] + rng.integers(20, 61, size=len(customer)) * SECONDS_PER_DAY
    chargeback_s = chargeback_s // SECONDS_PER_DAY * SECONDS_PER_DAY

    # Final order is by time; transaction ids follow that order.
    by_time = np.lexsort((customer, cols["utc_s"]))
    start_us = int(WINDOW_START.timestamp()) * 1_000_000
    timestamp = pa.timestamp("us", tz="UTC")

    def as_time(seconds: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
        micros = start_us + seconds[by_time].astype(np.int64) * 1_000_000
        return pa.array(micros, type=timestamp, mask=missing)

    n = len(customer)
    return pa.table(
        {
            "transaction_id": [f"TXN-{i:09d}" for i in range(1, n + 1)],
            "customer_id": [f"CUST-{c:05d}" for c in customer[by_time] + 1],
            "event_time": as_time(cols["utc_s"]),
            "amount": pa.array(cols["amount"][by_time], type=pa.float64()),
            "currency": pa.array(["EUR"] * n, type=pa.string()),
            "merchant_category": np.array(CATEGORY_NAMES)[cols["category"][by_time]],
            "channel": np.array(CHANNELS)[cols["channel"][by_time]],
            "country": cols["country"][by_time],
            "is_cross_border": cols["is_cross_border"][by_time],
            "card_age_days": cols["card_age_days"][by_time],
            "txn_count_1h": cols["txn_count_1h"][by_time],
            "txn_count_24h": cols["txn_count_24h"][by_time],
            "amount_sum_24h": cols["amount_sum_24h"][by_time],
            "distinct_merchants_24h": cols["distinct_merchants_24h"][by_time],
            "hour_of_day": cols["hour_of_day"][by_time].astype(np.int64),
            "vulnerable_customer": cols["vulnerable_customer"][by_time],
            "label_fraud": label[by_time],
            "chargeback_date": as_time(chargeback_s, missing=label[by_time] == 0),
        }
    )


# --- Output -----------------------------------------------------------------------------------
def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def time_slice(table: pa.Table, start: datetime, end: datetime) -> pa.Table:
    """Rows with start <= event_time < end."""
    times = table.column("event_time")
    return table.filter(
        pc.and_(
            pc.greater_equal(times, pa.scalar(start, times.type)),
            pc.less(times, pa.scalar(end, times.type)),
        )
    )


def write_split(
    table: pa.Table, path: Path, start: datetime, end: datetime, seed: int
) -> dict[str, Any]:
    pq.write_table(table, path, compression="zstd")
    first, last = pc.min_max(table.column("event_time")).values()
    return {
        "file": path.name,
        "rows": table.num_rows,
        "time_window": {"start": iso(start), "end": iso(end)},
        "event_time_min": iso(first.as_py()),
        "event_time_max": iso(last.as_py()),
        "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
        "sha256": sha256_of(path),
        "seed": seed,
        "query": f"{GENERATOR_VERSION}, seed={seed}, window={iso(start)}/{iso(end)}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write to")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--rows", type=int, default=200_000, help="rows (default 200000)")
    args = parser.parse_args()

    started = time.perf_counter()
    table = generate(args.rows, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)

    splits = [
        ("train.parquet", WINDOW_START, TRAIN_END),
        ("validation.parquet", TRAIN_END, VALIDATION_END),
        ("serving_sample.parquet", VALIDATION_END, WINDOW_END),
    ]
    files = []
    for name, start, end in splits:
        part = time_slice(table, start, end)
        if name == "serving_sample.parquet":  # what the model sees in production: no outcome
            part = part.drop_columns(["label_fraud", "chargeback_date"])
        files.append(write_split(part, args.out / name, start, end, args.seed))

    manifest = {
        "generator": GENERATOR_VERSION,
        "seed": args.seed,
        "rows": args.rows,
        "customers": N_CUSTOMERS,
        "window": {"start": iso(WINDOW_START), "end": iso(WINDOW_END)},
        "query": f"{GENERATOR_VERSION}, seed={args.seed}, "
        f"window={iso(WINDOW_START)}/{iso(WINDOW_END)}",
        "fraud_rate": round(float(np.mean(table.column("label_fraud").to_numpy())), 6),
        "files": files,
    }
    manifest_path = args.out / "data_manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

    for entry in files:
        print(
            f"{entry['file']:<24} {entry['rows']:>8,} rows  "
            f"{entry['time_window']['start']} .. {entry['time_window']['end']}"
        )
    print(
        f"fraud rate {manifest['fraud_rate']:.4f}; wrote {manifest_path} "
        f"in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
