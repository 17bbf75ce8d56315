"""Generate the demo's sample data: retail transactions with the flaws real data has.

Deterministic (fixed seed), standard library only. Writes transactions.csv:
- 100,000 distinct transactions plus ~3% exact duplicate rows (re-sent records),
- missing values (~4% of quantity, ~3% of unit_price, ~5% of email, ~2% of postcode),
- a few returns (negative quantity),
- personal data (name, email, phone, postcode) for the anonymisation examples.

Run: python3 examples/data/generate.py
"""

import csv
import datetime as dt
import random

random.seed(20261121)

FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas",
         "Kenji", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tariq"]
LAST = ["Smith", "Müller", "Rossi", "García", "Novak", "Dubois", "Kowalski", "Jensen", "Silva",
        "Nakamura", "Okafor", "Larsen", "Moreau", "Fischer", "Costa", "Horvat"]
PRODUCTS = [("coffee beans 1kg", "grocery", 14.9), ("oat milk", "grocery", 2.1),
            ("running shoes", "sport", 89.0), ("yoga mat", "sport", 25.5),
            ("headphones", "electronics", 59.9), ("usb-c cable", "electronics", 9.99),
            ("desk lamp", "home", 34.0), ("towel set", "home", 22.75),
            ("novel", "books", 12.5), ("cookbook", "books", 27.0)]
STORES = ["berlin-01", "paris-02", "madrid-01", "online", "lisbon-01", "rome-03"]
CHANNELS = ["store", "web", "app"]

N = 100_000
start = dt.datetime(2026, 1, 1)
customers = []
for c in range(8_000):
    first, last = random.choice(FIRST), random.choice(LAST)
    customers.append({
        "customer_id": 10_000 + c,
        "customer_name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{c}@example.com".replace("é", "e").replace("ü", "u").replace("í", "i"),
        "phone": f"+49 30 {random.randint(1000000, 9999999)}",
        "postcode": f"{random.randint(10000, 99999)}",
    })

rows = []
for i in range(N):
    cust = random.choice(customers)
    product, category, price = random.choice(PRODUCTS)
    ts = start + dt.timedelta(seconds=random.randint(0, 320 * 24 * 3600))
    qty = random.choice([1, 1, 1, 2, 2, 3, 4]) * (-1 if random.random() < 0.01 else 1)
    unit_price = round(price * random.uniform(0.9, 1.1), 2)
    row = {
        "transaction_id": 5_000_000 + i,
        "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S"),
        "customer_id": cust["customer_id"],
        "customer_name": cust["customer_name"],
        "email": cust["email"] if random.random() > 0.05 else "",
        "phone": cust["phone"],
        "postcode": cust["postcode"] if random.random() > 0.02 else "",
        "store": random.choice(STORES),
        "channel": random.choice(CHANNELS),
        "product": product,
        "category": category,
        "quantity": qty if random.random() > 0.04 else "",
        "unit_price": unit_price if random.random() > 0.03 else "",
    }
    rows.append(row)
    if random.random() < 0.03:
        rows.append(dict(row))

with open("transactions.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
    w.writeheader()
    w.writerows(rows)
print(f"wrote {len(rows)} rows")
