#!/usr/bin/env python3
"""Generate the retail demo's raw sales: the flaws real till data has, and personal data.

Deterministic (fixed seed), standard library only. Writes sales.csv next to this script:

- 48,500 distinct sales plus ~3% re-sent duplicates (the same sale_id, the same row again,
  a few rows later — what a till that retries an upload produces);
- missing values (~2% of each numeric column: basket_items, unit_price, discount,
  days_since_last; ~3% of email, ~1% of postcode);
- ~0.5% bad rows, one flaw each: a negative basket_items (a return keyed as a sale),
  a discount above 1 (a percentage typed as a number, `15` for 15%), or a malformed email;
- ~0.2% test sales from the staff training till (store `qa-lab`) and ~0.3% prices keyed
  without their decimal point (14.90 as 1490): data that is valid but must not be
  scored as it is, for the validate stage's `drop` and `flag` rules;
- personal data: customer names, emails, phone numbers and postcodes.

`train.py` imports `customers()` and `sale()` to draw its (clean) training sales from the
same distribution, with another seed.

Run: python3 examples/retail/generate.py
"""

import csv
import datetime as dt
import random
from pathlib import Path

SEED = 20260301
DISTINCT_SALES = 48_500
CUSTOMERS = 6_000
START = dt.datetime(2026, 1, 1)
DAYS = 181  # January to June 2026

COLUMNS = ["sale_id", "sold_at", "customer_id", "customer_name", "email", "phone", "postcode",
           "store", "channel", "basket_items", "unit_price", "discount", "days_since_last",
           "is_member"]

FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas",
         "Kenji", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tariq",
         "Ulla", "Viktor", "Wanda", "Yusuf", "Zoé", "Aisha", "Bruno", "Carla", "Deniz", "Elif"]
LAST = ["Smith", "Müller", "Rossi", "García", "Novak", "Dubois", "Kowalski", "Jensen", "Silva",
        "Nakamura", "Okafor", "Larsen", "Moreau", "Fischer", "Costa", "Horvat", "Schmidt",
        "Yilmaz", "Nowak", "Bianchi", "Petrov", "Lindqvist", "O'Brien", "Weber"]
DOMAINS = ["example.com", "example.org", "mail.example", "example.net"]
# Physical stores (channel "store"); web and app sales are booked on "online".
STORES = ["berlin-01", "berlin-02", "hamburg-01", "munich-01", "cologne-01", "leipzig-01"]
CHANNELS = ["store", "web", "app"]
CHANNEL_WEIGHTS = [0.55, 0.28, 0.17]
DISCOUNTS = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
DISCOUNT_WEIGHTS = [0.52, 0.12, 0.14, 0.06, 0.09, 0.03, 0.04]


def ascii_fold(s: str) -> str:
    for a, b in [("é", "e"), ("ü", "u"), ("í", "i"), ("'", "")]:
        s = s.replace(a, b)
    return s


def customers(rng: random.Random, n: int = CUSTOMERS) -> list[dict]:
    """The customer base: personal data, membership and how often each one shops."""
    out = []
    for c in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        area = rng.choice(["30", "40", "89", "221", "341", "69", "351"])
        out.append({
            "customer_id": 100_000 + c,
            "customer_name": f"{first} {last}",
            "email": ascii_fold(f"{first}.{last}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}").lower(),
            "phone": f"+49 {area} {rng.randint(100000, 9999999)}",
            "postcode": f"{rng.randint(1067, 99998):05d}",
            "is_member": rng.random() < 0.38,
            # Mean days between visits: members come back more often.
            "cadence": rng.uniform(4, 40) if rng.random() < 0.5 else rng.uniform(20, 120),
            "channel": rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0],
            "store": rng.choice(STORES),
        })
    return out


def sale(rng: random.Random, sale_id: int, customer: dict) -> dict:
    """One clean sale (no missing values, no flaws) by `customer`."""
    # Most customers stick to one channel, some switch.
    channel = customer["channel"] if rng.random() < 0.8 else rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
    day = START + dt.timedelta(days=rng.randrange(DAYS))
    if channel == "store":
        hour = rng.choices(range(8, 21), [2, 4, 6, 7, 8, 7, 6, 6, 7, 9, 9, 7, 4])[0]
    else:
        hour = rng.choices(range(24), [2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 6,
                                       6, 6, 5, 5, 6, 7, 9, 10, 10, 8, 6, 3])[0]
    sold_at = day + dt.timedelta(hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))
    basket = min(1 + int(rng.expovariate(1 / 2.2)), 40)
    price = round(min(max(rng.lognormvariate(2.7, 0.6), 0.5), 240.0), 2)
    member = customer["is_member"]
    discount = rng.choices(DISCOUNTS, DISCOUNT_WEIGHTS)[0]
    if member and discount == 0.0 and rng.random() < 0.3:
        discount = 0.1
    days_since = min(int(rng.expovariate(1 / customer["cadence"])), 365)
    return {
        "sale_id": sale_id,
        "sold_at": sold_at.strftime("%Y-%m-%dT%H:%M:%S"),
        "customer_id": customer["customer_id"],
        "customer_name": customer["customer_name"],
        "email": customer["email"],
        "phone": customer["phone"],
        "postcode": customer["postcode"],
        "store": customer["store"] if channel == "store" else "online",
        "channel": channel,
        "basket_items": basket,
        "unit_price": price,
        "discount": discount,
        "days_since_last": days_since,
        "is_member": member,
    }


def malformed(email: str, rng: random.Random) -> str:
    kind = rng.randrange(3)
    if kind == 0:
        return email.replace("@", "")            # no @
    if kind == 1:
        return email.replace("@", " @")          # a space
    return email.rsplit(".", 1)[0]               # no top-level domain


def main() -> None:
    rng = random.Random(SEED)
    people = customers(rng)
    counts = {"missing " + c: 0 for c in ["basket_items", "unit_price", "discount",
                                          "days_since_last", "email", "postcode"]}
    counts.update({"bad basket_items": 0, "bad discount": 0, "bad email": 0,
                   "qa-lab": 0, "price typo": 0, "duplicates": 0})
    rows: list[dict] = []
    pending: list[tuple[int, dict]] = []  # duplicates to re-send a few rows later
    last_bad = -10
    for i in range(DISTINCT_SALES):
        row = sale(rng, 7_000_000 + i, rng.choice(people))
        # Valid but not scorable as it is.
        r = rng.random()
        if r < 0.002:
            row["store"] = "qa-lab"
            counts["qa-lab"] += 1
        elif r < 0.005:
            row["unit_price"] = round(row["unit_price"] * 100, 2)
            counts["price typo"] += 1
        # Bad rows, one flaw each, never two in a row.
        if rng.random() < 0.005 and i - last_bad > 1:
            last_bad = i
            flaw = rng.randrange(3)
            if flaw == 0:
                row["basket_items"] = -rng.randint(1, 3)
                counts["bad basket_items"] += 1
            elif flaw == 1:
                row["discount"] = float(rng.choice([5, 10, 15, 20, 25]))
                counts["bad discount"] += 1
            else:
                row["email"] = malformed(row["email"], rng)
                counts["bad email"] += 1
        else:
            for column, p in [("basket_items", 0.02), ("unit_price", 0.02), ("discount", 0.02),
                              ("days_since_last", 0.02), ("email", 0.03), ("postcode", 0.01)]:
                if rng.random() < p:
                    row[column] = ""
                    counts["missing " + column] += 1
        rows.append(row)
        if rng.random() < 0.03:
            pending.append((i + rng.randint(1, 40), dict(row)))
            counts["duplicates"] += 1
        while pending and pending[0][0] <= i:
            rows.append(pending.pop(0)[1])
    rows.extend(r for _, r in pending)

    out = Path(__file__).resolve().parent / "sales.csv"
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for row in rows:
            row = dict(row)
            if isinstance(row["is_member"], bool):
                row["is_member"] = "true" if row["is_member"] else "false"
            w.writerow(row)
    print(f"wrote {out.name}: {len(rows)} rows ({DISTINCT_SALES} distinct sales), "
          f"{out.stat().st_size:,} bytes")
    for k, v in counts.items():
        print(f"  {k}: {v}")


if __name__ == "__main__":
    main()
